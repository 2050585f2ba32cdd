package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Reply is a core command's answer, before an adapter renders it: lines of
// text and at most one button that opens a URL. Replies to link commands
// are private to the user (ephemeral in Slack, 1:1 in Teams).
type Reply struct {
	Lines       []string
	ButtonLabel string
	ButtonURL   string
}

// Text joins the lines for platforms that show plain text.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// LinkCommand runs the account commands the adapters expose:
//
//	link          a one-time link to sign in (also "relink": a new sign-in
//	              replaces the current link once it succeeds)
//	link CODE     finish a Slack link with the code the browser showed
//	unlink        delete the link and its tokens; notifications stop
//	whoami        the linked Dynamics user
//
// name is the command word; args the rest of the line. ok is false when
// name is not one of these.
func (s *LinkService) LinkCommand(ctx context.Context, req LinkRequest, name, args string, cat *i18n.Catalog) (reply Reply, ok bool, err error) {
	if cat == nil {
		cat = i18n.Default()
	}
	loc := cat.For(req.Locale)
	args = strings.TrimSpace(args)
	switch strings.ToLower(name) {
	case "link", "relink":
		if args != "" {
			l, err := s.ConfirmCode(ctx, req.User, args)
			if errors.Is(err, ErrCodeInvalid) {
				return Reply{Lines: []string{loc.T(i18n.LinkCodeInvalid, nil), loc.T(i18n.LinkCodeUsage, nil)}}, true, nil
			}
			if err != nil {
				return Reply{}, true, err
			}
			return Reply{Lines: []string{loc.T(i18n.LinkedAs, i18n.Args{"name": l.DisplayName, "email": firstNonEmpty(l.Email, l.UPN)})}}, true, nil
		}
		p, err := s.Start(ctx, req)
		if err != nil {
			return Reply{}, true, err
		}
		return Reply{
			Lines: []string{loc.T(i18n.LinkPrompt, nil),
				loc.T(i18n.LinkPromptExpires, i18n.Args{"minutes": strconv.Itoa(int(store.NonceTTL.Minutes()))})},
			ButtonLabel: loc.T(i18n.LinkButton, nil), ButtonURL: p.URL,
		}, true, nil
	case "unlink":
		had, err := s.Unlink(ctx, req.User)
		if err != nil {
			return Reply{}, true, err
		}
		if !had {
			return Reply{Lines: []string{loc.T(i18n.NotLinked, nil)}}, true, nil
		}
		return Reply{Lines: []string{loc.T(i18n.Unlinked, nil)}}, true, nil
	case "whoami":
		l, err := s.WhoAmI(ctx, req.User)
		if errors.Is(err, ErrNotLinked) {
			return Reply{Lines: []string{loc.T(i18n.NotLinked, nil), loc.T(i18n.LinkPrompt, nil)}}, true, nil
		}
		if err != nil {
			return Reply{}, true, err
		}
		platform, _ := platformName(req.User.Platform)
		lines := []string{
			loc.T(i18n.WhoAmIChatUser, i18n.Args{"platform": platform, "user": req.User.UserID}),
			loc.T(i18n.WhoAmIDynamicsUser, i18n.Args{"name": l.DisplayName, "email": firstNonEmpty(l.Email, l.UPN)}),
		}
		if l.UPN != "" {
			lines = append(lines, loc.T(i18n.WhoAmIUPN, i18n.Args{"upn": l.UPN}))
		}
		lines = append(lines, loc.T(i18n.WhoAmIOrg, i18n.Args{"org": s.App.OrgURL}))
		if !l.LinkedAt.IsZero() {
			lines = append(lines, loc.T(i18n.WhoAmILinkedSince, i18n.Args{"date": l.LinkedAt.UTC().Format("2006-01-02 15:04 UTC")}))
		}
		if l.Broken {
			lines = append(lines, loc.T(i18n.WhoAmIBroken, nil))
		}
		return Reply{Lines: lines}, true, nil
	}
	return Reply{}, false, nil
}

// platformName is a platform's display name and ok when known.
func platformName(p string) (string, bool) {
	switch p {
	case store.PlatformSlack:
		return "Slack", true
	case store.PlatformTeams:
		return "Microsoft Teams", true
	}
	return p, false
}

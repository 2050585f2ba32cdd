package bot

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// The notification preferences form ("settings"): which record types,
// the previous owner's notice, a daily digest at an hour of the user's
// time zone, and snoozing.

// Settings input names.
const (
	setTypePrefix = "type_"
	setPrevious   = "previous_owner"
	setDigest     = "digest"
	setHour       = "digest_hour"
	setZone       = "time_zone"
	setSnooze     = "snooze"
	setChannel    = "channel"
)

// Snooze choices, in hours from now ("0": not snoozed, "-1": keep the
// current snooze).
var snoozeHours = []int{0, 1, 4, 24, 24 * 7}

func prefsZone(p store.Preferences) *time.Location {
	if tz, err := time.LoadLocation(p.TimeZone); err == nil && p.TimeZone != "" {
		return tz
	}
	return time.UTC
}

// settingsForm shows the user's preferences; errs re-shows a submission.
func (c *Core) settingsForm(ctx context.Context, s *session, values map[string]string) (*cards.Form, error) {
	p, err := c.Store.GetPreferences(ctx, s.req.User)
	if err != nil {
		return nil, err
	}
	f := &cards.Form{ID: formSettings, Title: s.t(i18n.SettingsTitle, nil), SubmitLabel: s.t(i18n.ActionSave, nil),
		CancelLabel: s.t(i18n.ActionCancel, nil), Intro: s.t(i18n.SettingsIntro, nil)}
	for _, rt := range c.Catalog.ChatTypes() {
		if !rt.Notify {
			continue
		}
		f.Inputs = append(f.Inputs, cards.Input{Name: setTypePrefix + rt.Name, Kind: cards.InputBool,
			Label: s.t(i18n.SettingsNotifyType, i18n.Args{"type": rt.Plural.In(s.lang)}), Value: strconv.FormatBool(p.Wants(rt.Name))})
	}
	f.Inputs = append(f.Inputs,
		cards.Input{Name: setPrevious, Kind: cards.InputBool, Label: s.t(i18n.SettingsPreviousOwner, nil), Value: strconv.FormatBool(p.NotifyPreviousOwner)},
		cards.Input{Name: setDigest, Kind: cards.InputBool, Label: s.t(i18n.SettingsDigest, nil), Value: strconv.FormatBool(p.Digest)},
	)
	hour := cards.Input{Name: setHour, Kind: cards.InputChoice, Label: s.t(i18n.SettingsDigestHour, nil), Value: strconv.Itoa(p.DigestHour), Required: true}
	for h := range 24 {
		hour.Options = append(hour.Options, cards.Option{Value: strconv.Itoa(h), Label: time.Date(2000, 1, 1, h, 0, 0, 0, time.UTC).Format(s.t(i18n.FormatTimeLayout, nil))})
	}
	f.Inputs = append(f.Inputs, hour,
		cards.Input{Name: setZone, Kind: cards.InputText, Label: s.t(i18n.SettingsTimeZone, nil), Hint: s.t(i18n.SettingsTimeZoneHint, nil),
			Value: p.TimeZone, Required: true, MaxLength: 64})
	snooze := cards.Input{Name: setSnooze, Kind: cards.InputChoice, Label: s.t(i18n.SettingsSnooze, nil), Value: "0", Required: true}
	if p.SnoozeUntil.After(c.Now()) {
		snooze.Value = "-1"
		snooze.Options = append(snooze.Options, cards.Option{Value: "-1",
			Label: s.t(i18n.SettingsSnoozedUntil, i18n.Args{"when": formatDateTime(s.loc, p.SnoozeUntil.In(prefsZone(p)))})})
	}
	for _, h := range snoozeHours {
		key, args := i18n.SettingsSnoozeHours, i18n.Args{"n": h}
		switch {
		case h == 0:
			key = i18n.SettingsSnoozeOff
		case h%24 == 0:
			key, args = i18n.SettingsSnoozeDays, i18n.Args{"n": h / 24}
		}
		snooze.Options = append(snooze.Options, cards.Option{Value: strconv.Itoa(h), Label: s.t(key, args)})
	}
	f.Inputs = append(f.Inputs, snooze)
	if s.req.User.Platform == store.PlatformSlack {
		f.Inputs = append(f.Inputs, cards.Input{Name: setChannel, Kind: cards.InputText, Label: s.t(i18n.SettingsChannel, nil),
			Hint: s.t(i18n.SettingsChannelHint, nil), Value: p.ChannelID, MaxLength: 32})
	}
	if values != nil {
		for i := range f.Inputs {
			if v, ok := values[f.Inputs[i].Name]; ok {
				f.Inputs[i].Value = v
			}
		}
	}
	return f, nil
}

// submitSettings saves the preferences form.
func (c *Core) submitSettings(ctx context.Context, s *session) (Response, error) {
	v := s.req.Values
	p, err := c.Store.GetPreferences(ctx, s.req.User)
	if err != nil {
		return Response{Surface: SurfaceDialog}, err
	}
	errs := map[string]string{}
	for _, rt := range c.Catalog.ChatTypes() {
		if !rt.Notify {
			continue
		}
		on := v[setTypePrefix+rt.Name] == "true"
		if p.RecordTypes == nil {
			p.RecordTypes = map[string]bool{}
		}
		if on {
			delete(p.RecordTypes, rt.Name)
		} else {
			p.RecordTypes[rt.Name] = false
		}
	}
	p.NotifyPreviousOwner = v[setPrevious] == "true"
	p.Digest = v[setDigest] == "true"
	if h, err := strconv.Atoi(v[setHour]); err == nil && h >= 0 && h < 24 {
		p.DigestHour = h
	} else {
		errs[setHour] = s.t(i18n.FieldBadChoice, nil)
	}
	zone := strings.TrimSpace(v[setZone])
	if _, err := time.LoadLocation(zone); err != nil || zone == "" || strings.EqualFold(zone, "local") {
		errs[setZone] = s.t(i18n.SettingsBadTimeZone, nil)
	} else {
		p.TimeZone = zone
	}
	switch n, err := strconv.Atoi(v[setSnooze]); {
	case err != nil:
		errs[setSnooze] = s.t(i18n.FieldBadChoice, nil)
	case n == -1:
	case n == 0:
		p.SnoozeUntil = time.Time{}
	default:
		p.SnoozeUntil = c.Now().Add(time.Duration(n) * time.Hour)
	}
	if s.req.User.Platform == store.PlatformSlack {
		ch := strings.TrimSpace(v[setChannel])
		if ch != "" && !validChannelID(ch) {
			errs[setChannel] = s.t(i18n.SettingsBadChannel, nil)
		} else {
			p.ChannelID = ch
		}
	}
	if len(errs) > 0 {
		f, err := c.settingsForm(ctx, s, v)
		if err != nil {
			return Response{Surface: SurfaceDialog}, err
		}
		setErrors(f, errs)
		return Response{View: f, Surface: SurfaceDialog}, nil
	}
	if err := c.Store.PutPreferences(ctx, s.req.User, p); err != nil {
		return Response{Surface: SurfaceDialog}, err
	}
	return Response{View: &cards.Message{Tone: cards.ToneSuccess, Text: []string{s.t(i18n.SettingsSaved, nil)}},
		Surface: SurfaceDialog, Done: true}, nil
}

// validChannelID: a Slack channel id ("C…", "G…"), upper-case letters and digits.
func validChannelID(s string) bool {
	if len(s) < 9 || len(s) > 20 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

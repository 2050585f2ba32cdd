package embedded

import (
	"context"
	"fmt"

	"github.com/crmbot/crmbot/store"
)

// GetLink implements store.LinkStore.
func (s *Store) GetLink(ctx context.Context, u store.ChatUser) (store.Link, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	r, ok := s.d.links[u]
	if !ok {
		return store.Link{}, fmt.Errorf("link of %s: %w", u, store.ErrNotFound)
	}
	return r.link, nil
}

// LinkedUsers implements store.LinkStore.
func (s *Store) LinkedUsers(ctx context.Context, systemUserID string) ([]store.ChatUser, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	var out []store.ChatUser
	for u := range s.d.bySys[systemUserID] {
		out = append(out, u)
	}
	return out, nil
}

// PutLink implements store.LinkStore.
func (s *Store) PutLink(ctx context.Context, l store.Link, t store.Tokens) (int64, error) {
	l, sealed, err := s.keys.PrepareLink(l, t, s.now())
	if err != nil {
		return 0, err
	}
	u := l.ChatUser
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	l.Version = s.nextVersion()
	if old, ok := s.d.links[u]; ok {
		s.unindex(u, old.link.SystemUserID)
	}
	s.d.links[u] = &linkRecord{link: l, sealed: sealed}
	if s.d.bySys[l.SystemUserID] == nil {
		s.d.bySys[l.SystemUserID] = map[store.ChatUser]struct{}{}
	}
	s.d.bySys[l.SystemUserID][u] = struct{}{}
	return l.Version, nil
}

// unindex drops u from the reverse index of sys; call with d.mu held.
func (s *Store) unindex(u store.ChatUser, sys string) {
	delete(s.d.bySys[sys], u)
	if len(s.d.bySys[sys]) == 0 {
		delete(s.d.bySys, sys)
	}
}

// DeleteLink implements store.LinkStore.
func (s *Store) DeleteLink(ctx context.Context, u store.ChatUser) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if old, ok := s.d.links[u]; ok {
		s.unindex(u, old.link.SystemUserID)
		delete(s.d.links, u)
	}
	return nil
}

// Tokens implements store.LinkStore.
func (s *Store) Tokens(ctx context.Context, u store.ChatUser) (store.Tokens, error) {
	s.d.mu.Lock()
	r, ok := s.d.links[u]
	var rec linkRecord
	if ok {
		rec = *r
	}
	s.d.mu.Unlock()
	if !ok {
		return store.Tokens{}, fmt.Errorf("tokens of %s: %w", u, store.ErrNotFound)
	}
	if rec.link.Broken {
		return store.Tokens{}, store.BrokenError(u, rec.link.BrokenReason, nil)
	}
	t, err := s.keys.OpenTokens(u, rec.sealed, rec.link.Version)
	if err != nil {
		if _, merr := s.markBroken(u, store.BrokenReasonFor(err), rec.link.Version); merr != nil {
			return store.Tokens{}, fmt.Errorf("%w (and marking it broken failed: %v)", store.BrokenError(u, "", err), merr)
		}
		return store.Tokens{}, store.BrokenError(u, "", err)
	}
	return t, nil
}

// SwapTokens implements store.LinkStore.
func (s *Store) SwapTokens(ctx context.Context, u store.ChatUser, t store.Tokens) (int64, error) {
	sealed, err := s.keys.SealTokens(u, t)
	if err != nil {
		return 0, fmt.Errorf("swap tokens: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	r, ok := s.d.links[u]
	switch {
	case !ok:
		return 0, fmt.Errorf("swap tokens of %s: %w", u, store.ErrNotFound)
	case r.link.Broken:
		return 0, fmt.Errorf("swap tokens: %w", store.BrokenError(u, r.link.BrokenReason, nil))
	case r.link.Version != t.Version:
		return 0, fmt.Errorf("swap tokens of %s at version %d (now %d): %w", u, t.Version, r.link.Version, store.ErrConflict)
	}
	r.sealed = sealed
	r.link.Version = s.nextVersion()
	return r.link.Version, nil
}

// MarkBroken implements store.LinkStore.
func (s *Store) MarkBroken(ctx context.Context, u store.ChatUser, reason string) (bool, error) {
	return s.markBroken(u, reason, 0)
}

// markBroken breaks u's link if its version is still version (0: any), so a
// decryption failure of a link read before a relink leaves the new link be.
func (s *Store) markBroken(u store.ChatUser, reason string, version int64) (bool, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	r, ok := s.d.links[u]
	if !ok {
		return false, fmt.Errorf("mark link of %s broken: %w", u, store.ErrNotFound)
	}
	if r.link.Broken || (version != 0 && r.link.Version != version) {
		return false, nil
	}
	s.breakLink(r, reason)
	return true, nil
}

// breakLink flags r broken and drops its tokens; call with d.mu held.
func (s *Store) breakLink(r *linkRecord, reason string) {
	r.link.Broken, r.link.BrokenReason = true, reason
	r.link.Version = s.nextVersion()
	r.sealed = store.SealedTokens{}
}

// nextVersion hands out token versions from one store-wide sequence, so a
// relink after an unlink never reuses a version a stale writer holds; call
// with d.mu held.
func (s *Store) nextVersion() int64 {
	s.d.seq++
	return s.d.seq
}

// RotateKeys implements store.KeyRotator.
func (s *Store) RotateKeys(ctx context.Context) (store.RotateReport, error) {
	var rep store.RotateReport
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for u, r := range s.d.links {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("rotate keys: %w", err)
		}
		if r.link.Broken {
			continue
		}
		rep.Links++
		out, changed, err := s.keys.ResealTokens(u, r.sealed)
		if err != nil {
			s.breakLink(r, store.BrokenReasonFor(err))
			rep.Broken++
			continue
		}
		if changed {
			r.sealed = out
			rep.Rewritten++
		}
	}
	return rep, nil
}

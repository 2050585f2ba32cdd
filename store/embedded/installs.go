package embedded

import (
	"context"
	"fmt"

	"github.com/crmbot/crmbot/store"
)

var _ store.InstallStore = (*Store)(nil)

// installMap returns the map of sealed installations, by Installation.Key(),
// making it on first use; call with d.mu held.
func (d *data) installMap() map[string]store.SealedInstallation {
	if d.installs == nil {
		d.installs = map[string]store.SealedInstallation{}
	}
	return d.installs
}

// PutInstallation implements store.InstallStore.
func (s *Store) PutInstallation(ctx context.Context, in store.Installation) error {
	sealed, err := s.keys.SealInstallation(in, s.now())
	if err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.installMap()[in.Key()] = sealed
	return nil
}

// Installation implements store.InstallStore.
func (s *Store) Installation(ctx context.Context, teamID, enterpriseID string) (store.Installation, error) {
	s.d.mu.Lock()
	var sealed store.SealedInstallation
	found := false
	for _, key := range store.InstallLookupKeys(teamID, enterpriseID) {
		if sealed, found = s.d.installMap()[key]; found {
			break
		}
	}
	s.d.mu.Unlock()
	if !found {
		return store.Installation{}, fmt.Errorf("installation of team %q enterprise %q: %w", teamID, enterpriseID, store.ErrNotFound)
	}
	return s.keys.OpenInstallation(sealed)
}

// DeleteInstallation implements store.InstallStore.
func (s *Store) DeleteInstallation(ctx context.Context, teamID, enterpriseID string) error {
	key := store.InstallDeleteKey(teamID, enterpriseID)
	if key == "" {
		return fmt.Errorf("delete installation: %w: no team or enterprise id", store.ErrInvalid)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	delete(s.d.installMap(), key)
	return nil
}

// RememberTeamEnterprise implements store.InstallStore.
func (s *Store) RememberTeamEnterprise(ctx context.Context, teamID, enterpriseID string) error {
	if teamID == "" || enterpriseID == "" {
		return fmt.Errorf("remember team enterprise: %w: team %q enterprise %q", store.ErrInvalid, teamID, enterpriseID)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.teamEnt == nil {
		s.d.teamEnt = map[string]string{}
	}
	s.d.teamEnt[teamID] = enterpriseID
	return nil
}

// TeamEnterprise implements store.InstallStore.
func (s *Store) TeamEnterprise(ctx context.Context, teamID string) (string, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if e, ok := s.d.teamEnt[teamID]; ok && teamID != "" {
		return e, nil
	}
	return "", fmt.Errorf("enterprise of team %q: %w", teamID, store.ErrNotFound)
}

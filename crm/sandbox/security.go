package sandbox

import (
	"fmt"
	"net/http"
	"slices"
)

// Record-level security, modelled on a basic user role: every user reads
// everything (organization-level read); write, delete, assign and the closing
// actions need user-level access (the record is owned by the user or by one of
// the user's teams). The manager role and the application user have
// organization-level access to everything. Creating is allowed to all.

// principalKnown reports whether p is an enabled systemuser of the org.
func (o *org) principalKnown(p Principal) bool {
	if p.UserID == "" {
		return false
	}
	u, ok := o.tables["systemuser"].rows[p.UserID]
	if !ok {
		return false
	}
	disabled, _ := u.attrs["isdisabled"].(bool)
	return !disabled
}

// checkAccess returns a 403 when as may not perform privilege (Write, Delete,
// Assign, ...) on r.
func (o *org) checkAccess(as Principal, e *entityInfo, r *record, privilege string) error {
	if as.App || o.roles[as.UserID] == "manager" || as.UserID == AppUserID {
		return nil
	}
	owner := r.str("_ownerid_value")
	if owner == "" || owner == as.UserID {
		return nil
	}
	if slices.Contains(o.teams[owner], as.UserID) {
		return nil
	}
	entityPriv := e.Name
	if e.Activity {
		entityPriv = "activity" // activities share the Activity privileges
	}
	return &apiError{
		Status: http.StatusForbidden,
		Code:   codePrivilegeDenied,
		Message: fmt.Sprintf("Principal user (Id=%s, type=8, roleCount=1, privilegeRoleCount=1, accessMode=0, BusinessUnitId=%s), "+
			"is missing prv%s%s privilege on OTC=%d for entity '%s'. Context.Caller=%s",
			as.UserID, BusinessUnitID, privilege, titleCase(entityPriv), e.OTC, e.Name, as.UserID),
	}
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

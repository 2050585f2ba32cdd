package sandbox

import (
	"net/http"
	"strings"
)

// createRecord serves POST entityset.
func (o *org) createRecord(ar *apiRequest, e *entityInfo) error {
	body, err := readBody(ar.r, maxBodyBytes)
	if err != nil {
		return err
	}
	q, err := o.parseQuery(e, ar.r.URL.Query())
	if err != nil {
		return err
	}
	var rec *record
	var out []byte
	err = o.write(ar.ctx(), ar.as, func(t *tx) error {
		in, err := o.decodeInput(e, body)
		if err != nil {
			return err
		}
		if rec, err = t.create(e, "", in); err != nil {
			return err
		}
		if ar.prefer.representation {
			out = o.entityBody(ar, e, rec, q.Select, q.Expand)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return o.writeWriteResult(ar, e, rec, out, http.StatusCreated)
}

// writeWriteResult answers a successful create/update: 204 + OData-EntityId,
// or the representation when Prefer: return=representation asked for it.
func (o *org) writeWriteResult(ar *apiRequest, e *entityInfo, rec *record, out []byte, repStatus int) error {
	ar.w.Header().Set("OData-EntityId", ar.base+e.Set+"("+rec.str(e.Key)+")")
	if ar.prefer.representation {
		ar.prefer.markApplied("return=representation")
		ar.w.Header().Set("ETag", etagOf(rec))
		ar.writeJSON(repStatus, out)
		return nil
	}
	if applied := ar.prefer.applied(); applied != "" {
		ar.w.Header().Set("Preference-Applied", applied)
	}
	ar.w.WriteHeader(http.StatusNoContent)
	return nil
}

// updateRecord serves PATCH entityset(id): update, upsert, assign, set state.
func (o *org) updateRecord(ar *apiRequest, e *entityInfo, id string) error {
	body, err := readBody(ar.r, maxBodyBytes)
	if err != nil {
		return err
	}
	q, err := o.parseQuery(e, ar.r.URL.Query())
	if err != nil {
		return err
	}
	cond := condition{IfMatch: strings.TrimSpace(ar.r.Header.Get("If-Match")), IfNoneMatch: strings.TrimSpace(ar.r.Header.Get("If-None-Match"))}
	var rec *record
	var out []byte
	created := false
	err = o.write(ar.ctx(), ar.as, func(t *tx) error {
		in, err := o.decodeInput(e, body)
		if err != nil {
			return err
		}
		if rec, created, err = t.update(e, id, in, cond); err != nil {
			return err
		}
		if ar.prefer.representation {
			out = o.entityBody(ar, e, rec, q.Select, q.Expand)
		}
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return o.writeWriteResult(ar, e, rec, out, status)
}

// deleteRecord serves DELETE entityset(id).
func (o *org) deleteRecord(ar *apiRequest, e *entityInfo, id string) error {
	cond := condition{IfMatch: strings.TrimSpace(ar.r.Header.Get("If-Match"))}
	if err := o.write(ar.ctx(), ar.as, func(t *tx) error { return t.delete(e, id, cond) }); err != nil {
		return err
	}
	ar.w.WriteHeader(http.StatusNoContent)
	return nil
}

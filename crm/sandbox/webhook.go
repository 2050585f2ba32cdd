package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The webhook emitter plays a Dataverse service endpoint (contract: webhook)
// with async post-operation steps on Create, Update (ownerid) and Assign: each
// committed event becomes a RemoteExecutionContext POST. Events go through a
// bounded queue drained by one goroutine owned by the org; Close stops it.
// A full queue drops the event (logged), as an overloaded async service would
// delay it: the delta stays the source of truth.

const (
	webhookQueueSize = 1024
	webhookTimeout   = 60 * time.Second
)

// webhookEvent is one committed change to announce.
type webhookEvent struct {
	Message string // Create, Update, Assign
	Entity  *entityInfo
	ID      string
	UserID  string
	Target  map[string]any // attributes sent in the request (Target)
	Pre     map[string]any // pre-image (Update/Assign), nil for Create
	Post    map[string]any // post-image
	LTypes  map[string]string
}

type webhookEmitter struct {
	o      *org
	opts   WebhookOptions
	client *http.Client
	queue  chan webhookEvent
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	log    *slog.Logger
}

func newWebhookEmitter(o *org, opts WebhookOptions) *webhookEmitter {
	h := &webhookEmitter{
		o: o, opts: opts, client: &http.Client{Timeout: webhookTimeout}, log: o.opts.Logger,
		queue: make(chan webhookEvent, webhookQueueSize), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go h.run()
	return h
}

// emit queues a webhook event for commit (tx.commit hands it to the emitter).
func (t *tx) emit(message string, e *entityInfo, r, old *record, in *input) {
	if t.o.hooks == nil {
		return
	}
	target := map[string]any{}
	for k, v := range in.attrs {
		target[k] = v
	}
	for k, ref := range in.lookups {
		target[k] = ref.ID
	}
	ev := webhookEvent{Message: message, Entity: e, ID: r.str(e.Key), UserID: t.as.UserID, Target: target,
		Post: r.attrs, LTypes: r.ltype}
	if old != nil {
		ev.Pre = old.attrs
	}
	t.events = append(t.events, ev)
}

func (h *webhookEmitter) enqueue(ev webhookEvent) {
	select {
	case h.queue <- ev:
	default:
		h.log.Warn("sandbox: webhook queue full, event dropped", "message", ev.Message, "entity", ev.Entity.Name)
	}
}

func (h *webhookEmitter) close() {
	h.once.Do(func() { close(h.stop) })
	<-h.done
}

func (h *webhookEmitter) run() {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stop
		cancel()
	}()
	for {
		select {
		case <-h.stop:
			return
		case ev := <-h.queue:
			h.deliver(ctx, ev)
		}
	}
}

// deliver POSTs one event, retrying once on 502/503/504 as Dataverse does.
func (h *webhookEmitter) deliver(ctx context.Context, ev webhookEvent) {
	body, err := json.Marshal(h.executionContext(ev))
	if err != nil {
		h.log.Error("sandbox: webhook encode", "err", err)
		return
	}
	correlation := uuid.NewString()
	for attempt := 0; attempt < 2; attempt++ {
		status, err := h.post(ctx, ev, body, correlation)
		if err != nil {
			// Never the error text: a *url.Error quotes the URL, which carries the WebhookKey (?code=).
			h.log.Warn("sandbox: webhook delivery failed", "entity", ev.Entity.Name, "message", ev.Message, "err", redactURLError(err))
			return
		}
		if status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
			return
		}
	}
}

func (h *webhookEmitter) post(ctx context.Context, ev webhookEvent, body []byte, correlation string) (int, error) {
	u, err := url.Parse(h.opts.URL)
	if err != nil {
		return 0, err
	}
	if h.opts.HeaderName == "" && h.opts.Secret != "" {
		q := u.Query()
		q.Set("code", h.opts.Secret)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ms-dynamics-organization", h.orgHost())
	req.Header.Set("x-ms-dynamics-entity-name", ev.Entity.Name)
	req.Header.Set("x-ms-dynamics-request-name", ev.Message)
	req.Header.Set("x-ms-correlation-request-id", correlation)
	if h.opts.HeaderName != "" {
		req.Header.Set(h.opts.HeaderName, h.opts.Secret)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (h *webhookEmitter) orgHost() string {
	if u, err := url.Parse(h.o.opts.BaseURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "sandbox.crm.dynamics.com"
}

// executionContext builds the RemoteExecutionContext JSON Dataverse posts.
func (h *webhookEmitter) executionContext(ev webhookEvent) map[string]any {
	entity := func(attrs map[string]any) map[string]any {
		return map[string]any{
			"__type":      "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
			"Attributes":  h.attributes(ev.Entity, attrs, ev.LTypes),
			"EntityState": nil, "FormattedValues": []any{}, "Id": ev.ID, "KeyAttributes": []any{},
			"LogicalName": ev.Entity.Name, "RelatedEntities": []any{}, "RowVersion": nil,
		}
	}
	images := func(name string, attrs map[string]any) []any {
		if attrs == nil {
			return []any{}
		}
		return []any{map[string]any{"key": name, "value": entity(attrs)}}
	}
	return map[string]any{
		"BusinessUnitId":     BusinessUnitID,
		"CorrelationId":      uuid.NewString(),
		"Depth":              1,
		"InitiatingUserId":   ev.UserID,
		"InputParameters":    []any{map[string]any{"key": "Target", "value": entity(ev.Target)}},
		"IsExecutingOffline": false, "IsInTransaction": false, "IsOfflinePlayback": false,
		"IsolationMode":       1,
		"MessageName":         ev.Message,
		"Mode":                1,
		"OperationCreatedOn":  "/Date(" + jsonMillis(h.o.now()) + ")/",
		"OperationId":         uuid.NewString(),
		"OrganizationId":      DefaultOrgID,
		"OrganizationName":    "crmbotsandbox",
		"OutputParameters":    []any{},
		"OwningExtension":     map[string]any{"Id": uuid.NewSHA1(uuid.NameSpaceOID, []byte("crmbot.sandbox.step."+ev.Message)).String(), "LogicalName": "sdkmessageprocessingstep", "Name": "crmbot: " + ev.Message + " of " + ev.Entity.Name},
		"PostEntityImages":    images("PostImage", ev.Post),
		"PreEntityImages":     images("PreImage", ev.Pre),
		"PrimaryEntityId":     ev.ID,
		"PrimaryEntityName":   ev.Entity.Name,
		"RequestId":           uuid.NewString(),
		"SecondaryEntityName": "none",
		"SharedVariables":     []any{},
		"Stage":               40,
		"UserId":              ev.UserID,
	}
}

func jsonMillis(t time.Time) string {
	b, _ := json.Marshal(t.UnixMilli())
	return string(b)
}

// attributes renders entity attributes as the SDK's data contract: lookups as
// EntityReference, option sets as OptionSetValue, money as Money, dates as /Date()/.
func (h *webhookEmitter) attributes(e *entityInfo, attrs map[string]any, ltypes map[string]string) []any {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		v := attrs[k]
		name := k
		switch {
		case e.isLookup(k):
			name = k[1 : len(k)-len("_value")]
			v = map[string]any{"__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts",
				"Id": v, "KeyAttributes": []any{}, "LogicalName": ltypes[k], "Name": nil, "RowVersion": nil}
		case e.Money[k]:
			v = map[string]any{"__type": "Money:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": v}
		default:
			if n, ok := v.(int64); ok {
				if _, isOption := optionLabelFor(e, k, int(n)); isOption {
					v = map[string]any{"__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": n}
				}
			}
			if t, ok := v.(time.Time); ok {
				v = "/Date(" + jsonMillis(t) + ")/"
			}
		}
		out = append(out, map[string]any{"key": name, "value": v})
	}
	return out
}

// Close stops the webhook emitter goroutine (events still queued are dropped).
func (s *Sandbox) Close() error {
	if s.org.hooks != nil {
		s.org.hooks.close()
	}
	return nil
}

// redactURLError drops the URL from a transport error, keeping what failed.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

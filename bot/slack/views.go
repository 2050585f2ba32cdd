package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	goslack "github.com/slack-go/slack"
)

// client is slack-go's Web API client for one workspace, with lean
// views.open / views.push / views.update calls: slack-go decodes the whole
// view Slack echoes back (blocks and all), which the adapter never reads
// and which cost a tenth of the CPU of a command; these read only ok,
// error, the view's id and hash. Requests are built from slack-go's own
// view types, and errors come back as slack-go's (RateLimitedError,
// StatusCodeError, SlackErrorResponse), so callers cannot tell.
type client struct {
	*goslack.Client
	token string
	base  string
	http  *http.Client
}

// OpenViewContext opens a modal (views.open).
func (c *client) OpenViewContext(ctx context.Context, triggerID string, v goslack.ModalViewRequest) (*goslack.ViewResponse, error) {
	return c.viewCall(ctx, "views.open", struct {
		TriggerID string                   `json:"trigger_id"`
		View      goslack.ModalViewRequest `json:"view"`
	}{triggerID, v})
}

// PushViewContext pushes a modal onto the stack (views.push).
func (c *client) PushViewContext(ctx context.Context, triggerID string, v goslack.ModalViewRequest) (*goslack.ViewResponse, error) {
	return c.viewCall(ctx, "views.push", struct {
		TriggerID string                   `json:"trigger_id"`
		View      goslack.ModalViewRequest `json:"view"`
	}{triggerID, v})
}

// UpdateViewContext replaces a modal's content (views.update); hash, when
// set, refuses the update if the view changed since (hash_conflict).
func (c *client) UpdateViewContext(ctx context.Context, v goslack.ModalViewRequest, externalID, hash, viewID string) (*goslack.ViewResponse, error) {
	return c.viewCall(ctx, "views.update", struct {
		View       goslack.ModalViewRequest `json:"view"`
		ExternalID string                   `json:"external_id,omitempty"`
		Hash       string                   `json:"hash,omitempty"`
		ViewID     string                   `json:"view_id,omitempty"`
	}{v, externalID, hash, viewID})
}

func (c *client) viewCall(ctx context.Context, method string, body any) (*goslack.ViewResponse, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("slack %s: %w", method, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
		s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, &goslack.RateLimitedError{RetryAfter: time.Duration(s) * time.Second}
	case resp.StatusCode != http.StatusOK:
		return nil, goslack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	var out struct {
		OK               bool   `json:"ok"`
		Error            string `json:"error"`
		ResponseMetadata struct {
			Messages []string `json:"messages"`
		} `json:"response_metadata"`
		View struct {
			ID   string `json:"id"`
			Hash string `json:"hash"`
		} `json:"view"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("slack %s: %w", method, err)
	}
	if !out.OK {
		return nil, goslack.SlackErrorResponse{Err: out.Error, ResponseMetadata: goslack.ResponseMetadata{Messages: out.ResponseMetadata.Messages}}
	}
	vr := &goslack.ViewResponse{}
	vr.Ok, vr.View.ID, vr.View.Hash = true, out.View.ID, out.View.Hash
	return vr, nil
}

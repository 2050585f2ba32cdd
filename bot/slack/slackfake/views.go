package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/slack-go/slack"
)

// maxStack is Slack's limit of views in one modal stack (views.push docs).
const maxStack = 3

type trigger struct {
	id, user, team, viewID string
	created                time.Time
	used                   bool
}

// viewRec is a stored view.
type viewRec struct {
	id, team, user, typ string
	hash                string
	def                 map[string]any // the view definition, with generated ids filled in
	typed               map[string]map[string]any
	errors              map[string]string
	root, prev          string
	open                bool
	updates             int
}

// View is a snapshot of a view held by the fake.
type View struct {
	ID              string
	TeamID          string
	UserID          string
	Type            string // "modal" or "home"
	Hash            string
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	RootViewID      string
	PreviousViewID  string
	Title           string
	Submit          string
	Close           string
	NotifyOnClose   bool
	ClearOnClose    bool
	Blocks          json.RawMessage
	// Errors are the errors of the last response_action "errors" answer,
	// cleared by any update.
	Errors map[string]string
	// State is view.state.values as Slack would send it now.
	State map[string]map[string]any
	// Updates counts content changes (views.update, response_action update,
	// views.publish over an existing Home tab).
	Updates int
	Open    bool
}

// ParsedBlocks decodes Blocks with slack-go.
func (v View) ParsedBlocks() (slack.Blocks, error) {
	var b slack.Blocks
	err := json.Unmarshal(v.Blocks, &b)
	return b, err
}

// NewTrigger makes a trigger_id for a user action outside any modal (slash
// command, message button, Home tab). It is valid once, for
// Options.TriggerTTL.
func (s *Server) NewTrigger(userID, teamID string) string {
	return s.NewTriggerFromView(userID, teamID, "")
}

// NewTriggerFromView makes a trigger_id for an interaction inside the
// given view; views.push with it stacks onto that view's modal.
func (s *Server) NewTriggerFromView(userID, teamID, viewID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", 10000+s.seq, s.now().Unix(), randHex(16))
	t := &trigger{id: id, user: userID, team: teamID, viewID: viewID, created: s.now()}
	if s.expireTriggers > 0 {
		s.expireTriggers--
		t.created = t.created.Add(-s.opts.TriggerTTL - time.Second)
	}
	s.triggers[id] = t
	return id
}

func (s *Server) consumeTriggerLocked(r *request) (*trigger, *apiError) {
	id := r.str("trigger_id")
	if id == "" {
		id = r.str("interactivity_pointer")
	}
	if id == "" {
		return nil, errf("invalid_arguments", "[ERROR] missing required field: trigger_id")
	}
	t, ok := s.triggers[id]
	if !ok {
		return nil, errf("invalid_trigger_id")
	}
	if t.team != r.team.ID {
		if tt := s.teamByID[t.team]; tt == nil || tt.EnterpriseID == "" || tt.EnterpriseID != r.team.EnterpriseID {
			return nil, errf("invalid_trigger_id")
		}
	}
	if t.used {
		return nil, errf("exchanged_trigger_id")
	}
	if s.now().Sub(t.created) > s.opts.TriggerTTL {
		return nil, errf("expired_trigger_id")
	}
	t.used = true
	return t, nil
}

func (s *Server) newHashLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%s", s.now().Unix(), randHex(6))
}

// parseViewArg decodes and validates the "view" argument.
func (s *Server) parseViewArg(r *request, sf surface) (map[string]any, *apiError) {
	raw := r.json("view")
	if raw == nil {
		return nil, errf("invalid_arguments", "[ERROR] missing required field: view")
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, errf("invalid_arguments", "[ERROR] view must be a JSON object")
	}
	if msgs := validateView(def, sf); len(msgs) > 0 {
		return nil, errf("invalid_arguments", msgs...)
	}
	return def, nil
}

// fillIDsLocked gives blocks and elements without ids generated ones, as
// Slack does.
func (s *Server) fillIDsLocked(def map[string]any) {
	blocks, _ := def["blocks"].([]any)
	for _, b := range blocks {
		bm, ok := b.(map[string]any)
		if !ok {
			continue
		}
		if str(bm, "block_id") == "" {
			s.seq++
			bm["block_id"] = fmt.Sprintf("b%05d", s.seq)
		}
		for _, e := range blockElements(bm) {
			if str(e, "action_id") == "" && str(e, "type") != "" {
				s.seq++
				e["action_id"] = fmt.Sprintf("a%05d", s.seq)
			}
		}
	}
}

// blockElements lists the interactive elements of a block.
func blockElements(b map[string]any) []map[string]any {
	var out []map[string]any
	switch str(b, "type") {
	case "actions":
		els, _ := b["elements"].([]any)
		for _, e := range els {
			if em, ok := e.(map[string]any); ok {
				out = append(out, em)
			}
		}
	case "section":
		if em, ok := b["accessory"].(map[string]any); ok && str(em, "type") != "image" {
			out = append(out, em)
		}
	case "input":
		if em, ok := b["element"].(map[string]any); ok {
			out = append(out, em)
		}
	}
	return out
}

func (s *Server) viewsOpen(r *request) (map[string]any, *apiError) {
	def, aerr := s.parseViewArg(r, surfaceModal)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.consumeTriggerLocked(r)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkExternalLocked(def, ""); aerr != nil {
		return nil, aerr
	}
	s.clearStackLocked(t.user)
	v := s.newViewLocked(r.team.ID, t.user, def)
	v.root = v.id
	s.stacks[t.user] = []string{v.id}
	return map[string]any{"view": s.viewJSON(v, false)}, nil
}

func (s *Server) viewsPush(r *request) (map[string]any, *apiError) {
	def, aerr := s.parseViewArg(r, surfaceModal)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.consumeTriggerLocked(r)
	if aerr != nil {
		return nil, aerr
	}
	stack := s.stacks[t.user]
	if t.viewID == "" || !slices.Contains(stack, t.viewID) {
		return nil, errf("not_found")
	}
	if len(stack) >= maxStack {
		return nil, errf("push_limit_reached")
	}
	if aerr := s.checkExternalLocked(def, ""); aerr != nil {
		return nil, aerr
	}
	v := s.pushLocked(r.team.ID, t.user, def)
	return map[string]any{"view": s.viewJSON(v, false)}, nil
}

func (s *Server) pushLocked(team, user string, def map[string]any) *viewRec {
	stack := s.stacks[user]
	v := s.newViewLocked(team, user, def)
	v.root = stack[0]
	v.prev = stack[len(stack)-1]
	s.stacks[user] = append(stack, v.id)
	return v
}

func (s *Server) checkExternalLocked(def map[string]any, self string) *apiError {
	ext := str(def, "external_id")
	if ext == "" {
		return nil
	}
	if id, ok := s.external[ext]; ok && id != self {
		if v := s.views[id]; v != nil && v.open {
			return errf("duplicate_external_id")
		}
	}
	return nil
}

func (s *Server) newViewLocked(team, user string, def map[string]any) *viewRec {
	s.fillIDsLocked(def)
	v := &viewRec{
		id: s.nextIDLocked("V"), team: team, user: user, typ: str(def, "type"),
		hash: s.newHashLocked(), def: def, typed: map[string]map[string]any{}, open: true,
	}
	s.views[v.id] = v
	if ext := str(def, "external_id"); ext != "" {
		s.external[ext] = v.id
	}
	return v
}

// replaceLocked swaps a view's content, keeping typed values of input
// blocks that survive.
func (s *Server) replaceLocked(v *viewRec, def map[string]any) {
	s.fillIDsLocked(def)
	if v.typ == "modal" && str(def, "type") == "" {
		def["type"] = "modal"
	}
	v.def = def
	keep := map[string]bool{}
	for _, b := range inputBlocks(def) {
		keep[str(b, "block_id")] = true
	}
	maps.DeleteFunc(v.typed, func(k string, _ map[string]any) bool { return !keep[k] })
	v.errors = nil
	v.hash = s.newHashLocked()
	v.updates++
	if ext := str(def, "external_id"); ext != "" {
		s.external[ext] = v.id
	}
}

func inputBlocks(def map[string]any) []map[string]any {
	var out []map[string]any
	blocks, _ := def["blocks"].([]any)
	for _, b := range blocks {
		if bm, ok := b.(map[string]any); ok && str(bm, "type") == "input" {
			out = append(out, bm)
		}
	}
	return out
}

func (s *Server) viewsUpdate(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	var v *viewRec
	if id := r.str("view_id"); id != "" {
		v = s.views[id]
	} else if ext := r.str("external_id"); ext != "" {
		v = s.views[s.external[ext]]
	} else {
		s.mu.Unlock()
		return nil, errf("invalid_arguments", "[ERROR] either view_id or external_id is required")
	}
	if v == nil || !v.open || v.team != r.team.ID {
		s.mu.Unlock()
		return nil, errf("not_found")
	}
	sf := surfaceModal
	if v.typ == "home" {
		sf = surfaceHome
	}
	s.mu.Unlock()
	def, aerr := s.parseViewArg(r, sf)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !v.open {
		return nil, errf("not_found")
	}
	if h := r.str("hash"); h != "" && h != v.hash {
		return nil, errf("hash_conflict")
	}
	if aerr := s.checkExternalLocked(def, v.id); aerr != nil {
		return nil, aerr
	}
	s.replaceLocked(v, def)
	return map[string]any{"view": s.viewJSON(v, false)}, nil
}

func (s *Server) viewsPublish(r *request) (map[string]any, *apiError) {
	def, aerr := s.parseViewArg(r, surfaceHome)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := r.str("user_id")
	u, ok := s.users[uid]
	if !ok || !s.userVisibleLocked(r.team, u) {
		return nil, errf("user_not_found")
	}
	if v := s.views[s.homes[uid]]; v != nil {
		if h := r.str("hash"); h != "" && h != v.hash {
			return nil, errf("hash_conflict")
		}
		s.replaceLocked(v, def)
		return map[string]any{"view": s.viewJSON(v, false)}, nil
	}
	v := s.newViewLocked(r.team.ID, uid, def)
	v.root = v.id
	s.homes[uid] = v.id
	return map[string]any{"view": s.viewJSON(v, false)}, nil
}

// clearStackLocked closes every view of a user's modal stack.
func (s *Server) clearStackLocked(user string) {
	for _, id := range s.stacks[user] {
		if v := s.views[id]; v != nil {
			v.open = false
		}
	}
	delete(s.stacks, user)
}

// closeViewLocked closes one view and the views stacked above it.
func (s *Server) closeViewLocked(v *viewRec) {
	stack := s.stacks[v.user]
	i := slices.Index(stack, v.id)
	if i < 0 {
		v.open = false
		return
	}
	for _, id := range stack[i:] {
		if w := s.views[id]; w != nil {
			w.open = false
		}
	}
	if i == 0 {
		delete(s.stacks, v.user)
		return
	}
	s.stacks[v.user] = stack[:i]
}

// viewJSON renders a view like Slack's API. With all, state includes every
// input block (as in interaction payloads); otherwise only the typed ones.
func (s *Server) viewJSON(v *viewRec, all bool) map[string]any {
	var nilOr = func(x string) any {
		if x == "" {
			return nil
		}
		return x
	}
	out := map[string]any{
		"id":                    v.id,
		"team_id":               v.team,
		"type":                  v.typ,
		"blocks":                v.def["blocks"],
		"private_metadata":      str(v.def, "private_metadata"),
		"callback_id":           str(v.def, "callback_id"),
		"state":                 map[string]any{"values": s.stateLocked(v, all)},
		"hash":                  v.hash,
		"title":                 v.def["title"],
		"close":                 v.def["close"],
		"submit":                v.def["submit"],
		"clear_on_close":        v.def["clear_on_close"] == true,
		"notify_on_close":       v.def["notify_on_close"] == true,
		"root_view_id":          nilOr(v.root),
		"previous_view_id":      nilOr(v.prev),
		"app_id":                s.opts.AppID,
		"external_id":           str(v.def, "external_id"),
		"app_installed_team_id": v.team,
		"bot_id":                s.botIDLocked(v.team),
	}
	return out
}

func (s *Server) botIDLocked(team string) string {
	if t := s.teamByID[team]; t != nil {
		return t.BotID
	}
	return ""
}

func (s *Server) snapshotLocked(v *viewRec) View {
	blocks, _ := json.Marshal(v.def["blocks"])
	return View{
		ID: v.id, TeamID: v.team, UserID: v.user, Type: v.typ, Hash: v.hash,
		CallbackID: str(v.def, "callback_id"), PrivateMetadata: str(v.def, "private_metadata"),
		ExternalID: str(v.def, "external_id"), RootViewID: v.root, PreviousViewID: v.prev,
		Title: textOf(v.def["title"]), Submit: textOf(v.def["submit"]), Close: textOf(v.def["close"]),
		NotifyOnClose: v.def["notify_on_close"] == true, ClearOnClose: v.def["clear_on_close"] == true,
		Blocks: blocks, Errors: maps.Clone(v.errors), State: s.stateLocked(v, true),
		Updates: v.updates, Open: v.open,
	}
}

// View returns a snapshot of a view by id.
func (s *Server) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return s.snapshotLocked(v), true
}

// Stack returns a user's open modal stack, bottom (root) first.
func (s *Server) Stack(userID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, id := range s.stacks[userID] {
		out = append(out, s.snapshotLocked(s.views[id]))
	}
	return out
}

// TopView returns the view a user currently sees in a modal, if any.
func (s *Server) TopView(userID string) (View, bool) {
	st := s.Stack(userID)
	if len(st) == 0 {
		return View{}, false
	}
	return st[len(st)-1], true
}

// Home returns a user's published Home tab.
func (s *Server) Home(userID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[s.homes[userID]]
	if !ok {
		return View{}, false
	}
	return s.snapshotLocked(v), true
}

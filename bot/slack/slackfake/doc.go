// Package slackfake is a fake Slack that tests can trust: a Web API server
// (an [httptest.Server]) that the real slack-go client talks to, a Socket
// Mode websocket endpoint that the real slack-go socketmode client connects
// to, and a [Driver] that plays the Slack client side by signing and posting
// the inbound requests (slash commands, block_actions, view_submission,
// view_closed, block_suggestion, Events API callbacks) a real user would
// cause, then applying Slack's side effects to the fake's state.
//
// # Faithful to Slack
//
// Checked against docs.slack.dev and the slack-go v0.35.0 sources:
//
//   - Authentication by "Authorization: Bearer" header or "token" form field;
//     unknown tokens get invalid_auth. Bodies may be form-encoded (blocks,
//     view, metadata and unfurls as JSON strings) or JSON.
//   - trigger_id: single use (exchanged_trigger_id), valid for 3 seconds
//     (expired_trigger_id), unknown (invalid_trigger_id); views.push only
//     onto the modal the trigger came from, at most 3 views in a stack
//     (push_limit_reached) — https://docs.slack.dev/reference/methods/views.push.
//   - views.update by view_id or external_id, hash guard (hash_conflict),
//     not_found; every change gets a new hash; responses carry the full view
//     object (id, hash, state, root_view_id, previous_view_id, …) —
//     https://docs.slack.dev/reference/methods/views.update.
//   - Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks):
//     50 blocks per message, 100 per modal / Home tab, modal title / submit /
//     close 24 chars, header 150, section text 3000, fields 10×2000, actions
//     25 elements, action_id / block_id / callback_id / external_id 255,
//     private_metadata 3000, static select 100 options of 75 chars, unique
//     block_ids, input blocks in messages only with dispatch_action (a
//     message has no submit button, so Enter is the only way their value
//     reaches the app), submit required with inputs.
//     Refusals use Slack's error names (invalid_arguments for views.*,
//     invalid_blocks for chat.*) with response_metadata.messages in Slack's
//     "[ERROR] … [json-pointer:/…]" style.
//   - Message timestamps are unique, strictly increasing and carry a
//     microsecond part ("1732450000.000123"); conversations.history returns
//     newest first and includes metadata only with include_all_metadata.
//   - view_submission answers: empty body closes the submitted view (returning
//     to the previous view of the stack), response_action errors / update /
//     push / clear as in https://docs.slack.dev/surfaces/modals; error keys
//     that are not input block_ids are recorded as a [Violation] (Slack would
//     show a generic error).
//   - view.state.values encodes each element as Slack does (type + value /
//     selected_date / selected_date_time / selected_time / selected_option(s)
//     / selected_user …), with null for empty inputs.
//   - Request signing: v0=hex(HMAC-SHA256(secret, "v0:"+ts+":"+body)) —
//     https://docs.slack.dev/authentication/verifying-requests-from-slack.
//   - oauth.v2.access returns the documented shape (enterprise is null for
//     non-org installs; team is null for an org-wide Enterprise Grid
//     install, whose token then serves every workspace of the org) and
//     codes are single use. The authorize page (AuthorizeURL) approves as
//     the grant queued with ApproveInstall and redirects with code and
//     state. Payloads from a workspace served by an org-wide install say
//     is_enterprise_install true (events: an authorization with team_id
//     null).
//   - Socket Mode: apps.connections.open with an xapp- token, a hello
//     message first, periodic websocket pings (slack-go's client drops the
//     connection without them) and envelope/ack exchange —
//     https://docs.slack.dev/apis/events-api/using-socket-mode.
//   - Faults: 429 with or without Retry-After, 5xx, or ok:false errors,
//     injected per method.
//
// # Simplified
//
//   - One app; one bot per team; no rate limiting unless injected with
//     [Server.Fail].
//   - Scopes are checked only when the team has them ([Team.Scopes],
//     [Server.SetScopes], or the grant of an OAuth install), and only by
//     conversations.history (im:history for DMs, channels:history for
//     public channels, groups:history for private ones), which answers
//     missing_scope with Slack's needed / provided fields.
//   - Channels exist once added with [Server.AddChannel], with their
//     members: chat.postMessage and conversations.history answer
//     channel_not_found for a channel not added (or a private one the bot
//     is not in), not_in_channel for a public channel the bot is not in
//     (chat:write.public is not modelled), is_archived for posts to an
//     archived channel. User ids resolve to the user's DM channel ("D…"),
//     which is always open to the bot. Posts are never deduplicated.
//   - views.open replaces any stack the user already has open. A trigger from
//     a slash command or a message cannot views.push (not_found).
//   - Typed input values are kept across views.update for input blocks whose
//     block_id survives, regardless of action_id.
//   - Closing a view ([Driver.CloseView]) pops just that view, or the whole
//     stack when the view has clear_on_close.
//   - response_url posts (recorded as method "response_url", 5 uses within
//     30 minutes) are shown: ephemeral by default (see Ephemerals, for the
//     user who acted), in the channel with response_type in_channel;
//     replace_original / delete_original apply to the message acted on
//     (ephemeral or not). Blocks are validated as for messages.
//   - ExpireNextTriggers hands out triggers that are already expired, to
//     play an app that took longer than 3 seconds.
//   - chat.unfurl does not require the message to exist (the links come from
//     users' messages the fake never sees).
package slackfake

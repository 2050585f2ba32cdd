// Package teamsfake is a fake Bot Framework connector plus the Entra token
// endpoint in front of it, served by an [httptest.Server], for the Teams
// adapter's end-to-end tests and the crash / soak tests. Point the
// connector client's serviceUrl at [Server.URL] and its token URL at
// [Server.TokenURL].
//
// It does not import package teams: it checks the wire as Teams would, not
// our Go types, so a bug in those types cannot hide itself.
//
// # Faithful to Teams
//
// Checked against reference/teams.md and the Bot Framework REST reference:
//
//   - Token: POST /{tenant}/oauth2/v2.0/token, client_credentials only,
//     client_secret in the body (or HTTP Basic), scope
//     https://api.botframework.com/.default; wrong secret → 401
//     invalid_client, unknown client or tenant → 400 unauthorized_client,
//     wrong scope → 400 invalid_scope; answers {token_type, expires_in,
//     ext_expires_in, access_token}.
//   - With [Options.RequireAuth], connector calls need "Authorization:
//     Bearer" with a token this fake issued and that has not expired on the
//     fake's clock; otherwise 401 {"message":"Authorization has been denied
//     for this request."}.
//   - POST /v3/conversations creates a 1:1 conversation (201 {id}); the same
//     user always gets the same conversation id ("a:1…", as Teams' personal
//     chats). It needs bot.id, exactly one member, isGroup false and a
//     tenant id (400 BadArgument otherwise).
//   - POST /v3/conversations/{id}/activities (send) and
//     /v3/conversations/{id}/activities/{replyToId} (reply) answer 201 {id}
//     with Teams-like numeric, strictly increasing activity ids; PUT
//     …/activities/{activityId} replaces the activity (200 {id}, 404
//     ActivityNotFound when unknown in that conversation); DELETE
//     …/activities/{activityId} removes it (200, no body; 404
//     ActivityNotFound when unknown or deleted already).
//   - Messages need text or attachments; an attachment of type
//     application/vnd.microsoft.card.adaptive must carry a JSON object with
//     "type":"AdaptiveCard" (400 BadArgument); bodies over 100 KB get 413
//     MessageSizeTooBig. Errors use the ErrorResponse shape
//     {"error":{"code","message"}}.
//   - Path ids are percent-decoded, as Teams does: "a%3A1x" is "a:1x".
//
// # Simplified
//
//   - One bot; any conversation id is accepted for sends (those of inbound
//     activities never went through create-conversation here).
//   - No throttling unless injected with [Server.Fail]; members and other
//     connector routes are 404.
//   - Soft rules Teams would not reject but that we promise to keep are
//     recorded as [Violation]s: a card over 28 KB, an Adaptive Card version
//     above 1.5, text and a card in one message (the Agents Playground
//     splits it and the id of the card is lost), plus every rejected request.
package teamsfake

package i18n

// Key names a message. Code passes these constants, never bare strings, so
// the catalogue test can check every key used exists in every language.
type Key string

// Account linking.
const (
	// LinkPrompt asks a user who is not linked yet to link.
	LinkPrompt Key = "link.prompt"
	// LinkButton labels the button that opens the one-time link.
	LinkButton Key = "link.button"
	// LinkExpiredRelink is sent once when a link breaks (refresh refused,
	// tokens undecryptable).
	LinkExpiredRelink Key = "link.expired_relink"
	// LinkedAs confirms a link: {name}, {email}.
	LinkedAs Key = "link.linked_as"
	// Unlinked confirms an unlink.
	Unlinked Key = "link.unlinked"
	// NotLinked answers a command that needs a link when there is none.
	NotLinked Key = "link.not_linked"
	// LinkStartExpired is the page for an unknown, expired or reused link.
	LinkStartExpired Key = "link.start_expired"
	// LinkMismatchTeams: the Microsoft account signed in ({upn}) is not the
	// one the Teams user uses.
	LinkMismatchTeams Key = "link.mismatch_teams"
	// LinkMismatchSlack: the Dynamics user's email ({email}) is not the
	// Slack profile's, and no code was confirmed.
	LinkMismatchSlack Key = "link.mismatch_slack"
	// LinkCodePrompt is shown in the browser: type {command} in {platform}
	// within {minutes} minutes.
	LinkCodePrompt Key = "link.code_prompt"
	// LinkCodeInvalid answers a wrong, expired or someone else's code.
	LinkCodeInvalid Key = "link.code_invalid"
	// LinkSignInFailed: the sign-in was cancelled or refused.
	LinkSignInFailed Key = "link.sign_in_failed"
	// LinkCodeUsage explains "/crm link CODE" when the code is missing.
	LinkCodeUsage Key = "link.code_usage"
	// LinkPromptExpires: the link works once, for {minutes} minutes.
	LinkPromptExpires Key = "link.prompt_expires"
	// LinkCodeWhy explains why a code is needed: {email} of the Dynamics user.
	LinkCodeWhy Key = "link.code_why"
	// LinkAuthoritySaid quotes the authority's error code: {error}.
	LinkAuthoritySaid Key = "link.authority_said"
	// LinkTryAgain: type {command} in {platform} to try again.
	LinkTryAgain Key = "link.try_again"
	// LinkUnavailable: Dynamics or the authority did not answer.
	LinkUnavailable Key = "link.unavailable"
)

// Link pages (the browser side of linking).
const (
	LinkPageLinkedTitle      Key = "link.page_linked_title"
	LinkPageFailedTitle      Key = "link.page_failed_title"
	LinkPageCodeTitle        Key = "link.page_code_title"
	LinkPageExpiredTitle     Key = "link.page_expired_title"
	LinkPageUnavailableTitle Key = "link.page_unavailable_title"
	LinkPageCodeLabel        Key = "link.page_code_label"
	// LinkPageBackToChat: close the tab, back to {platform}.
	LinkPageBackToChat Key = "link.page_back_to_chat"
	LinkPageTagline    Key = "link.page_tagline"
)

// whoami.
const (
	// WhoAmIChatUser: {platform}, {user}.
	WhoAmIChatUser Key = "whoami.chat_user"
	// WhoAmIDynamicsUser: {name}, {email}.
	WhoAmIDynamicsUser Key = "whoami.dynamics_user"
	// WhoAmIOrg: {org}.
	WhoAmIOrg Key = "whoami.org"
	// WhoAmILinkedSince: {date}.
	WhoAmILinkedSince Key = "whoami.linked_since"
	// WhoAmIBroken: the link must be remade.
	WhoAmIBroken Key = "whoami.broken"
	// WhoAmIUPN: the Microsoft account, {upn}.
	WhoAmIUPN Key = "whoami.upn"
)

// Errors the user may see.
const (
	// ErrorGeneric is the sentence for an internal error.
	ErrorGeneric Key = "error.generic"
	// ErrorDynamicsUnavailable: Dynamics (or its sign-in) did not answer.
	ErrorDynamicsUnavailable Key = "error.dynamics_unavailable"
	// ErrorForbidden: Dynamics' security refused the action.
	ErrorForbidden Key = "error.forbidden"
)

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

// The conversation core: commands, lists, details, forms, notifications.
const (
	// ActionBack: Back
	ActionBack Key = "action.back"
	// ActionCancel: Cancel
	ActionCancel Key = "action.cancel"
	// ActionCreate: Create
	ActionCreate Key = "action.create"
	// ActionEdit: Edit
	ActionEdit Key = "action.edit"
	// ActionNew: New {type}
	ActionNew Key = "action.new"
	// ActionOpenInDynamics: Open in Dynamics
	ActionOpenInDynamics Key = "action.open_in_dynamics"
	// ActionSave: Save
	ActionSave Key = "action.save"
	// ActionSettings: Notification settings
	ActionSettings Key = "action.settings"
	// ActionShowAll: Show all
	ActionShowAll Key = "action.show_all"
	// ActionView: View
	ActionView Key = "action.view"
	// ActionViewCreated: View the new {type}
	ActionViewCreated Key = "action.view_created"
	// CloseConfirm: {action} the {type} “{name}”? This can't be undone from chat.
	CloseConfirm Key = "close.confirm"
	// ClosedRecord: Done: {action}.
	ClosedRecord Key = "close.done"
	// CommandUnknown: I don't know the command “{command}”.
	CommandUnknown Key = "command.unknown"
	// CreatedRecord: {type} created
	CreatedRecord Key = "record.created"
	// SavedRecord: {type} saved
	SavedRecord Key = "record.saved"
	// ErrorBusy: Dynamics is busy and asked us to slow down. Please try again in a minute.
	ErrorBusy Key = "error.busy"
	// ErrorClosed: This {type} is closed: it can't be changed from chat any more.
	ErrorClosed Key = "error.closed"
	// ErrorNotFound: This record doesn't exist any more, or you can't see it.
	ErrorNotFound Key = "error.not_found"
	// ErrorStale: This button is out of date. Type the command again.
	ErrorStale Key = "error.stale"
	// FieldBadChoice: Choose one of the options.
	FieldBadChoice Key = "field.bad_choice"
	// FieldBadDate: Enter a valid date.
	FieldBadDate Key = "field.bad_date"
	// FieldBadEmail: Enter an email address like name@example.com.
	FieldBadEmail Key = "field.bad_email"
	// FieldBadLookup: Pick a record from the list.
	FieldBadLookup Key = "field.bad_lookup"
	// FieldBadNumber: Enter a number.
	FieldBadNumber Key = "field.bad_number"
	// FieldBadURL: Enter a web address like https://example.com.
	FieldBadURL Key = "field.bad_url"
	// FieldBadWholeNumber: Enter a whole number.
	FieldBadWholeNumber Key = "field.bad_whole_number"
	// FieldEndBeforeStart: The end must be after the start.
	FieldEndBeforeStart Key = "field.end_before_start"
	// FieldOutOfRange: Enter a value from {min} to {max}.
	FieldOutOfRange Key = "field.out_of_range"
	// FieldRequired: This field is required.
	FieldRequired Key = "field.required"
	// FieldStatus: Status
	FieldStatus Key = "field.status"
	// FieldStatusReason: Status reason
	FieldStatusReason Key = "field.status_reason"
	// FieldTooLarge: Enter {max} or less.
	FieldTooLarge Key = "field.too_large"
	// FieldTooLong: Use {max} characters at most (this has {count}).
	FieldTooLong Key = "field.too_long"
	// FieldTooSmall: Enter {min} or more.
	FieldTooSmall Key = "field.too_small"
	// FormConflict: Someone changed this {type} in Dynamics ({when}) since you opened the form. Your changes are still below: check them and save again to apply them over the new version.
	FormConflict Key = "form.conflict"
	// FormCreateTitle: New {type}
	FormCreateTitle Key = "form.create_title"
	// FormEditTitle: Edit {type}
	FormEditTitle Key = "form.edit_title"
	// FormDynamicsRefused: Dynamics refused the change: {message}
	FormDynamicsRefused Key = "form.dynamics_refused"
	// FormFixBelow: Dynamics refused a value: see below.
	FormFixBelow Key = "form.fix_below"
	// FormatDate: {month} {day}, {year}
	FormatDate Key = "format.date"
	// FormatDateTime: {date}, {time}
	FormatDateTime Key = "format.datetime"
	// FormatMonths: Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec
	FormatMonths Key = "format.months"
	// FormatTimeLayout: 3:04 PM
	FormatTimeLayout Key = "format.time_layout"
	// HelpTitle: crmbot: Dynamics 365 in chat
	HelpTitle Key = "help.title"
	// HelpIntro: Here is what you can ask:
	HelpIntro Key = "help.intro"
	// HelpList: • Your open records, searchable: {types} — for example “leads acme”.
	HelpList Key = "help.list"
	// HelpNew: • “new lead”, “new case”, … creates a record.
	HelpNew Key = "help.new"
	// HelpSearch: • “search <text>” looks across every record type.
	HelpSearch Key = "help.search"
	// HelpSettings: • “settings” chooses which notifications you get.
	HelpSettings Key = "help.settings"
	// HelpLink: • “link”, “unlink”, “whoami” manage your Dynamics link.
	HelpLink Key = "help.link"
	// LinkResumeLater: Once you're linked, I'll carry on with “{command}”.
	LinkResumeLater Key = "link.resume_later"
	// LinkTitle: Link your Dynamics account
	LinkTitle Key = "link.title"
	// ListEmpty: You have no open {type}.
	ListEmpty Key = "list.empty"
	// ListFirstN: The first {n} are shown.
	ListFirstN Key = "list.first_n"
	// ListNext: Next
	ListNext Key = "list.next"
	// ListPrev: Previous
	ListPrev Key = "list.prev"
	// ListNoMatch: Nothing matches “{search}”.
	ListNoMatch Key = "list.no_match"
	// ListRange: {from}–{to} of {total}
	ListRange Key = "list.range"
	// ListRangeOpen: {from}–{to}
	ListRangeOpen Key = "list.range_open"
	// ListSearchPlaceholder: Search {type}…
	ListSearchPlaceholder Key = "list.search_placeholder"
	// LookupHint: Type to search: {types}.
	LookupHint Key = "lookup.hint"
	// NewWhichType: What do you want to create?
	NewWhichType Key = "new.which_type"
	// NotifyAssignedNew: New {type} assigned to you
	NotifyAssignedNew Key = "notify.assigned_new"
	// NotifyAssignedNewBy: New {type} assigned to you by {by}
	NotifyAssignedNewBy Key = "notify.assigned_new_by"
	// NotifyAssignedExisting: {type} reassigned to you
	NotifyAssignedExisting Key = "notify.assigned_existing"
	// NotifyAssignedExistingBy: {type} reassigned to you by {by}
	NotifyAssignedExistingBy Key = "notify.assigned_existing_by"
	// NotifyUnassigned: This {type} is no longer yours (now: {owner})
	NotifyUnassigned Key = "notify.unassigned"
	// NotifyFooter: Type “settings” to choose your notifications.
	NotifyFooter Key = "notify.footer"
	// NotifyPaused: Your Dynamics sign-in stopped working, so your notifications are paused. Type “link” to sign in again: what was assigned to you meanwhile will follow.
	NotifyPaused Key = "notify.paused"
	// NotifyTeam: {headline} (team {team})
	NotifyTeam Key = "notify.team"
	// NotifyDigestDaily: Your daily digest
	NotifyDigestDaily Key = "notify.digest_daily"
	// NotifyDigestHeld: Assigned to you while notifications were paused
	NotifyDigestHeld Key = "notify.digest_held"
	// NotifyDigestSummary: {n} change(s) to your records
	NotifyDigestSummary Key = "notify.digest_summary"
	// NotifyDigestMore: …and {n} more: type “leads”, “cases”… to see your records.
	NotifyDigestMore Key = "notify.digest_more"
	// RecordNoName: (no name)
	RecordNoName Key = "record.no_name"
	// SearchPartial: Some record types couldn't be searched.
	SearchPartial Key = "search.partial"
	// SearchSummary: {n} found (at most {per} per type).
	SearchSummary Key = "search.summary"
	// SearchTitle: Search: {search}
	SearchTitle Key = "search.title"
	// SearchUsage: Type what to look for, for example “search contoso”.
	SearchUsage Key = "search.usage"
	// SettingsTitle: Notifications
	SettingsTitle Key = "settings.title"
	// SettingsIntro: Choose what crmbot tells you about and when.
	SettingsIntro Key = "settings.intro"
	// SettingsNotifyType: {type} assigned to me
	SettingsNotifyType Key = "settings.notify_type"
	// SettingsPreviousOwner: Tell me when a record of mine goes to someone else
	SettingsPreviousOwner Key = "settings.previous_owner"
	// SettingsDigest: One digest a day instead of each at once
	SettingsDigest Key = "settings.digest"
	// SettingsDigestHour: Digest time
	SettingsDigestHour Key = "settings.digest_hour"
	// SettingsTimeZone: Time zone
	SettingsTimeZone Key = "settings.time_zone"
	// SettingsTimeZoneHint: An IANA name such as Europe/Paris or America/New_York.
	SettingsTimeZoneHint Key = "settings.time_zone_hint"
	// SettingsBadTimeZone: Unknown time zone: use a name such as Europe/Paris.
	SettingsBadTimeZone Key = "settings.bad_time_zone"
	// SettingsSnooze: Pause notifications
	SettingsSnooze Key = "settings.snooze"
	// SettingsSnoozeOff: Don't pause
	SettingsSnoozeOff Key = "settings.snooze_off"
	// SettingsSnoozeHours: For {n} h
	SettingsSnoozeHours Key = "settings.snooze_hours"
	// SettingsSnoozeDays: For {n} day(s)
	SettingsSnoozeDays Key = "settings.snooze_days"
	// SettingsSnoozedUntil: Paused until {when}
	SettingsSnoozedUntil Key = "settings.snoozed_until"
	// SettingsChannel: Post to a channel instead of a direct message
	SettingsChannel Key = "settings.channel"
	// SettingsChannelHint: A channel id such as C0123456789 (crmbot must be in it); empty for direct messages.
	SettingsChannelHint Key = "settings.channel_hint"
	// SettingsBadChannel: That isn't a Slack channel id (it looks like C0123456789).
	SettingsBadChannel Key = "settings.bad_channel"
	// SettingsSaved: Your notification settings are saved.
	SettingsSaved Key = "settings.saved"
	// ValueNo: No
	ValueNo Key = "value.no"
	// ValueYes: Yes
	ValueYes Key = "value.yes"
)

// core polish
const (
	// ErrorBusySeconds: Dynamics answered 429 and said how long to wait (seconds).
	ErrorBusySeconds Key = "error.busy_seconds"
	// ErrorBusyMinutes: the same, for waits of more than 90 seconds (minutes, rounded up).
	ErrorBusyMinutes Key = "error.busy_minutes"
	// FormDynamicsRefusedShort: Dynamics refused the change (its message follows on a line of its own).
	FormDynamicsRefusedShort Key = "form.dynamics_refused_short"
	// FieldDynamicsRefused: Dynamics refused this input's value (its message follows on a line of its own).
	FieldDynamicsRefused Key = "field.dynamics_refused"
	// DynamicsDetails: the secondary line quoting Dynamics' own (English) message.
	DynamicsDetails Key = "dynamics.details"
	// LinkBrokenRefused: why a link broke: the authority refused the refresh token ({code}: AADSTS…).
	LinkBrokenRefused Key = "link.broken_refused"
	// LinkBrokenUnreadable: why a link broke: its tokens can no longer be decrypted.
	LinkBrokenUnreadable Key = "link.broken_unreadable"
	// LinkBrokenDetails: why a link broke, in the store's own words.
	LinkBrokenDetails Key = "link.broken_details"
)

// slack adapter and surfaces (Home tab, unfurls)
const (
	// SlackLoading: the modal shown while the core works: "Loading…"
	SlackLoading Key = "slack.loading"
	// SlackSaving: the modal shown while a submission is saved: "Saving…"
	SlackSaving Key = "slack.saving"
	// SlackClose: a modal's close button.
	SlackClose Key = "slack.close"
	// SlackMoreNotShown: the line under a cut view ({count} rows left out).
	SlackMoreNotShown Key = "slack.more_not_shown"
	// SlackTooLarge: a view Slack cannot show.
	SlackTooLarge Key = "slack.too_large"
	// SlackNotInstalled: a command from a workspace with no installation.
	SlackNotInstalled Key = "slack.not_installed"
	// SlackTryAgain: a form could not open (the trigger expired).
	SlackTryAgain Key = "slack.try_again"
	// HomeTitle: the Home tab's title.
	HomeTitle Key = "home.title"
	// HomeNotLinked: the Home tab of a user who is not linked.
	HomeNotLinked Key = "home.not_linked"
	// HomeNotifications: the Home tab's summary of notification settings ({types}, {where}, {when}).
	HomeNotifications Key = "home.notifications"
	// HomeWhereDM: notifications go to direct messages.
	HomeWhereDM Key = "home.where_dm"
	// HomeWhereChannel: notifications go to a channel ({channel}).
	HomeWhereChannel Key = "home.where_channel"
	// HomeWhenNow: notifications arrive at once.
	HomeWhenNow Key = "home.when_now"
	// HomeWhenDigest: notifications arrive in a daily digest at {hour}.
	HomeWhenDigest Key = "home.when_digest"
	// HomeSnoozed: notifications are held back until {until}.
	HomeSnoozed Key = "home.snoozed"
	// HomeAllTypes: every record type is on.
	HomeAllTypes Key = "home.all_types"
	// HomeRecent: the title of the recent assignments.
	HomeRecent Key = "home.recent"
	// HomeNoRecent: no recent assignment.
	HomeNoRecent Key = "home.no_recent"
	// HomeTry: the commands to try, under the Home tab's title.
	HomeTry Key = "home.try"
	// SlackSearch: the submit button of a list modal (it searches).
	SlackSearch Key = "slack.search"
	// SlackFormExpired: a command's form could not open in time (Slack's
	// 3-second trigger expired); a button below opens it again.
	SlackFormExpired Key = "slack.form_expired"
	// SlackOpenForm: the button that opens the form again.
	SlackOpenForm Key = "slack.open_form"
	// HomeHelp: the Home tab's help button and label.
	HomeHelp Key = "home.help"
)

// teams adapter
const (
	// TeamsStillWorking: Dynamics is slow; the answer will be posted in the chat.
	TeamsStillWorking Key = "teams.still_working"
	// TeamsSaving: a dialog's submission takes long; the result will be posted in the chat.
	TeamsSaving Key = "teams.saving"
	// TeamsTooLarge: a view Teams cannot show.
	TeamsTooLarge Key = "teams.too_large"
	// TeamsSentPrivately: in a channel or group chat, the answer went to the user's 1:1 chat with the bot.
	TeamsSentPrivately Key = "teams.sent_privately"
	// TeamsNoPrivateChat: in a channel, the answer could not go to the user's 1:1 chat (the app is not installed for them).
	TeamsNoPrivateChat Key = "teams.no_private_chat"
	// TeamsDialogTitle: a dialog's title when the view has none.
	TeamsDialogTitle Key = "teams.dialog_title"
)

// The operator's status page (internal/status).
const (
	// StatusTitle: The status page's title.
	StatusTitle Key = "status.title"
	// StatusRefresh: The link that reloads the page.
	StatusRefresh Key = "status.refresh"
	// StatusJSON: The link to the same data as JSON.
	StatusJSON Key = "status.json"
	// StatusSignOut: The sign-out button.
	StatusSignOut Key = "status.sign_out"
	// StatusVersion: Label of the running version.
	StatusVersion Key = "status.version"
	// StatusReplica: Label of this replica's name.
	StatusReplica Key = "status.replica"
	// StatusGenerated: Label of when the page was made.
	StatusGenerated Key = "status.generated"
	// StatusCardLinked: Summary card: linked users.
	StatusCardLinked Key = "status.card_linked"
	// StatusCardBroken: Summary card note: {n} broken links.
	StatusCardBroken Key = "status.card_broken"
	// StatusCardOutbox: Summary card: notifications waiting in the outbox.
	StatusCardOutbox Key = "status.card_outbox"
	// StatusCardOldest: Summary card note: the oldest waits since {duration}.
	StatusCardOldest Key = "status.card_oldest"
	// StatusCardNothingWaiting: Summary card note: the outbox is empty.
	StatusCardNothingWaiting Key = "status.card_nothing_waiting"
	// StatusCardDead: Summary card: dead letters.
	StatusCardDead Key = "status.card_dead"
	// StatusCardDeadNote: Summary card note under the dead letters.
	StatusCardDeadNote Key = "status.card_dead_note"
	// StatusCardErrors: Summary card: recent errors.
	StatusCardErrors Key = "status.card_errors"
	// StatusCardWarnings: Summary card note: {n} warnings.
	StatusCardWarnings Key = "status.card_warnings"
	// StatusLinksTitle: Section: linked users per platform.
	StatusLinksTitle Key = "status.links_title"
	// StatusColPlatform: Column: chat platform.
	StatusColPlatform Key = "status.col_platform"
	// StatusColLinked: Column: linked users.
	StatusColLinked Key = "status.col_linked"
	// StatusColBroken: Column: broken links.
	StatusColBroken Key = "status.col_broken"
	// StatusLinksNone: No one has linked yet.
	StatusLinksNone Key = "status.links_none"
	// StatusSyncTitle: Section: sync per record type.
	StatusSyncTitle Key = "status.sync_title"
	// StatusSyncOff: Sync does not run on this replica.
	StatusSyncOff Key = "status.sync_off"
	// StatusColType: Column: record type.
	StatusColType Key = "status.col_type"
	// StatusColPhase: Column: the poller's phase on this replica.
	StatusColPhase Key = "status.col_phase"
	// StatusColLease: Column: which replica holds the lease.
	StatusColLease Key = "status.col_lease"
	// StatusColCursor: Column: age of the change-tracking cursor.
	StatusColCursor Key = "status.col_cursor"
	// StatusColBaseline: Column: rows read by the baseline.
	StatusColBaseline Key = "status.col_baseline"
	// StatusColLastSync: Column: last successful sync on this replica (the lag).
	StatusColLastSync Key = "status.col_last_sync"
	// StatusColOutbox: Column: outbox depth.
	StatusColOutbox Key = "status.col_outbox"
	// StatusColPending: Column: entries being delivered.
	StatusColPending Key = "status.col_pending"
	// StatusColOldest: Column: age of the oldest entry waiting.
	StatusColOldest Key = "status.col_oldest"
	// StatusColDead: Column: dead letters.
	StatusColDead Key = "status.col_dead"
	// StatusColProblems: Column: last error.
	StatusColProblems Key = "status.col_problems"
	// StatusPhaseStarting: Phase: starting.
	StatusPhaseStarting Key = "status.phase_starting"
	// StatusPhaseStandby: Phase: another replica syncs.
	StatusPhaseStandby Key = "status.phase_standby"
	// StatusPhaseBaseline: Phase: first full read.
	StatusPhaseBaseline Key = "status.phase_baseline"
	// StatusPhaseDelta: Phase: following changes.
	StatusPhaseDelta Key = "status.phase_delta"
	// StatusPhasePaused: Phase: Dataverse throttled us.
	StatusPhasePaused Key = "status.phase_paused"
	// StatusPhaseError: Phase: failing.
	StatusPhaseError Key = "status.phase_error"
	// StatusPhaseStopped: Phase: stopped.
	StatusPhaseStopped Key = "status.phase_stopped"
	// StatusPhaseOff: Phase: no sync on this replica.
	StatusPhaseOff Key = "status.phase_off"
	// StatusPhaseUnknown: Phase: the poller does not know the type.
	StatusPhaseUnknown Key = "status.phase_unknown"
	// StatusPausedUntil: A paused type resumes at {time}.
	StatusPausedUntil Key = "status.paused_until"
	// StatusLeaseFree: Nobody holds the lease.
	StatusLeaseFree Key = "status.lease_free"
	// StatusLeaseHere: This replica holds the lease.
	StatusLeaseHere Key = "status.lease_here"
	// StatusLeaseExpires: Tooltip: the lease lapses at {time}.
	StatusLeaseExpires Key = "status.lease_expires"
	// StatusCursorNone: No cursor yet (a baseline is needed).
	StatusCursorNone Key = "status.cursor_none"
	// StatusCursorBaseline: The cursor is an unfinished baseline.
	StatusCursorBaseline Key = "status.cursor_baseline"
	// StatusDeadTitle: Section: dead letters.
	StatusDeadTitle Key = "status.dead_title"
	// StatusDeadShown: Section note: the oldest {n} per record type are listed.
	StatusDeadShown Key = "status.dead_shown"
	// StatusDeadNone: No dead letters.
	StatusDeadNone Key = "status.dead_none"
	// StatusColDied: Column: when it died.
	StatusColDied Key = "status.col_died"
	// StatusColAttempts: Column: delivery attempts.
	StatusColAttempts Key = "status.col_attempts"
	// StatusColReason: Column: why it failed.
	StatusColReason Key = "status.col_reason"
	// StatusColEvent: Column: the notification.
	StatusColEvent Key = "status.col_event"
	// StatusRetry: The retry button of a dead letter.
	StatusRetry Key = "status.retry"
	// StatusEventSummary: A dead letter's notification: {kind} {type}.
	StatusEventSummary Key = "status.event_summary"
	// StatusEventBy: Who made the change: {name}.
	StatusEventBy Key = "status.event_by"
	// StatusEventTeam: The owning team: {team}.
	StatusEventTeam Key = "status.event_team"
	// StatusEventUndecodable: A payload that does not decode ({bytes} bytes).
	StatusEventUndecodable Key = "status.event_undecodable"
	// StatusRecordID: Tooltip label of a record id.
	StatusRecordID Key = "status.record_id"
	// StatusUserID: Tooltip label of the Dynamics user to tell.
	StatusUserID Key = "status.user_id"
	// StatusKindNew: Notification kind: a new record assigned.
	StatusKindNew Key = "status.kind_new"
	// StatusKindReassigned: Notification kind: reassigned.
	StatusKindReassigned Key = "status.kind_reassigned"
	// StatusKindUnassigned: Notification kind: no longer yours.
	StatusKindUnassigned Key = "status.kind_unassigned"
	// StatusFlashRetried: Flash: a {type} dead letter is back in the outbox.
	StatusFlashRetried Key = "status.flash_retried"
	// StatusFlashGone: Flash: the dead letter was already retried.
	StatusFlashGone Key = "status.flash_gone"
	// StatusFlashFailed: Flash: the retry failed.
	StatusFlashFailed Key = "status.flash_failed"
	// StatusErrorsTitle: Section: recent warnings and errors.
	StatusErrorsTitle Key = "status.errors_title"
	// StatusErrorsNone: Nothing logged at warning level.
	StatusErrorsNone Key = "status.errors_none"
	// StatusErrorsOff: Logs are not recorded.
	StatusErrorsOff Key = "status.errors_off"
	// StatusColTime: Column: when.
	StatusColTime Key = "status.col_time"
	// StatusColLevel: Column: log level.
	StatusColLevel Key = "status.col_level"
	// StatusColMessage: Column: log message.
	StatusColMessage Key = "status.col_message"
	// StatusColDetails: Column: log attributes.
	StatusColDetails Key = "status.col_details"
	// StatusFooter: Footer: reads take at most {seconds} s.
	StatusFooter Key = "status.footer"
	// StatusNever: A time that never happened.
	StatusNever Key = "status.never"
	// StatusAgo: {duration} ago.
	StatusAgo Key = "status.ago"
	// StatusDurSeconds: {n} seconds.
	StatusDurSeconds Key = "status.dur_seconds"
	// StatusDurMinutes: {n} minutes.
	StatusDurMinutes Key = "status.dur_minutes"
	// StatusDurHours: {h} hours {m} minutes.
	StatusDurHours Key = "status.dur_hours"
	// StatusDurDays: {d} days {h} hours.
	StatusDurDays Key = "status.dur_days"
	// StatusCountThousands: a count of {thousands} thousands and {rest} (three digits).
	StatusCountThousands Key = "status.count_thousands"
	// StatusSignInTitle: The sign-in page's title.
	StatusSignInTitle Key = "status.sign_in_title"
	// StatusSignInIntro: Why the token is asked for.
	StatusSignInIntro Key = "status.sign_in_intro"
	// StatusSignInWrong: A wrong token.
	StatusSignInWrong Key = "status.sign_in_wrong"
	// StatusTokenLabel: The token field's label.
	StatusTokenLabel Key = "status.token_label"
	// StatusSignInButton: The sign-in button.
	StatusSignInButton Key = "status.sign_in_button"
	// StatusClosedTitle: Title: the page is closed to this client.
	StatusClosedTitle Key = "status.closed_title"
	// StatusLoopbackOnly: Without a token, loopback clients only.
	StatusLoopbackOnly Key = "status.loopback_only"
	// StatusDeadReadError: the dead letters of {type} could not be read: {error}.
	StatusDeadReadError Key = "status.dead_read_error"
	// StatusReadTimedOut follows an error when a read ran out of its {seconds} s.
	StatusReadTimedOut Key = "status.read_timed_out"
	// StatusRefusedTitle: Title: a form post was refused.
	StatusRefusedTitle Key = "status.refused_title"
	// StatusCSRFRefused: A form post without a valid CSRF token or from another site.
	StatusCSRFRefused Key = "status.csrf_refused"
	// StatusRetryBadRequest: A retry for an unknown record type or without an id.
	StatusRetryBadRequest Key = "status.retry_bad_request"
	// StatusBackToPage: Link back to the status page.
	StatusBackToPage Key = "status.back_to_page"
	// StatusOrg: the Dynamics org every record type belongs to, {org}.
	StatusOrg Key = "status.org"
	// StatusPercent: {n} percent.
	StatusPercent Key = "status.percent"
)

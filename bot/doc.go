// Package bot is crmbot's conversation core: commands, flows, account
// linking and notification delivery, written once for every chat platform.
// It knows neither Slack nor Teams; the adapters (bot/slack, bot/teams)
// translate their platform's requests into calls on this package.
package bot

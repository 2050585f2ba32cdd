// Package slackmanifest holds crmbot's Slack app manifests (manifest.yaml for
// HTTP mode, manifest.socket.yaml for Socket Mode); its test validates them
// against Slack's manifest JSON Schema. See README.md.
package slackmanifest

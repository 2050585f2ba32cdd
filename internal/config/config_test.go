package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":3978" || c.PublicURL != "http://localhost:3978" || c.SyncInterval != 30*time.Second || !c.Dataverse.Sandbox() {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoadAcceptsRedisURLs(t *testing.T) {
	for _, u := range []string{
		"redis://127.0.0.1:6379", "rediss://:secret@cache.example.com:6380/2", "unix:///run/redis.sock",
		"redis+cluster://10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379", "rediss+cluster://user:pw@10.0.0.1:6380",
	} {
		if _, err := Load(env(map[string]string{"REDIS_URL": u, "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})); err != nil {
			t.Errorf("REDIS_URL %s refused: %v", u, err)
		}
	}
}

func TestPublicURLFollowsTheListenPort(t *testing.T) {
	c, err := Load(env(map[string]string{"CRMBOT_ADDR": "127.0.0.1:8080"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "http://localhost:8080" {
		t.Fatalf("PublicURL = %q, want http://localhost:8080", c.PublicURL)
	}
	c, err = Load(env(map[string]string{"CRMBOT_ADDR": ":8080", "CRMBOT_PUBLIC_URL": "https://bot.example.com/"}))
	if err != nil || c.PublicURL != "https://bot.example.com" {
		t.Fatalf("an explicit CRMBOT_PUBLIC_URL must win: %q %v", c.PublicURL, err)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"bad interval":          {map[string]string{"CRMBOT_SYNC_INTERVAL": "often"}, "CRMBOT_SYNC_INTERVAL"},
		"tiny interval":         {map[string]string{"CRMBOT_SYNC_INTERVAL": "10ms"}, "CRMBOT_SYNC_INTERVAL"},
		"bad lease":             {map[string]string{"CRMBOT_SYNC_LEASE": "soon"}, "CRMBOT_SYNC_LEASE"},
		"lease under 2 polls":   {map[string]string{"CRMBOT_SYNC_INTERVAL": "30s", "CRMBOT_SYNC_LEASE": "45s"}, "CRMBOT_SYNC_LEASE"},
		"bad retry":             {map[string]string{"CRMBOT_DELIVERY_RETRY": "1ms"}, "CRMBOT_DELIVERY_RETRY"},
		"relative public url":   {map[string]string{"CRMBOT_PUBLIC_URL": "bot.example.com"}, "CRMBOT_PUBLIC_URL"},
		"dataverse without app": {map[string]string{"DATAVERSE_URL": "https://org.crm.dynamics.com"}, "DATAVERSE_CLIENT_SECRET"},
		"dataverse over http":   {map[string]string{"DATAVERSE_URL": "http://org.crm.dynamics.com", "DATAVERSE_TENANT_ID": "t", "DATAVERSE_CLIENT_ID": "c", "DATAVERSE_CLIENT_SECRET": "s"}, "must use https"},
		"sandbox exposure typo": {map[string]string{"CRMBOT_SANDBOX_PUBLIC": "maybe"}, "CRMBOT_SANDBOX_PUBLIC"},
		"redis without key":     {map[string]string{"REDIS_URL": "redis://127.0.0.1:6379"}, "CRMBOT_ENCRYPTION_KEY"},
		"redis bare host":       {map[string]string{"REDIS_URL": "localhost:6379", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		"redis scheme typo":     {map[string]string{"REDIS_URL": "reddis://localhost:6379", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		"redis db not a number": {map[string]string{"REDIS_URL": "redis://localhost:6379/zero", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		"cluster addr no port":  {map[string]string{"REDIS_URL": "redis+cluster://10.0.0.1:6379?addr=10.0.0.2", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		"long drain delay":      {map[string]string{"CRMBOT_DRAIN_DELAY": "30s"}, "CRMBOT_DRAIN_DELAY"},
		"short admin token":     {map[string]string{"CRMBOT_ADMIN_TOKEN": "letmein"}, "CRMBOT_ADMIN_TOKEN"},
		"slack http no secret":  {map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"},
		"slack socket no bot":   {map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"},
		"slack wrong token":     {map[string]string{"SLACK_BOT_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"},
		"slack client half":     {map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"},
		"slack api over http":   {map[string]string{"SLACK_API_URL": "http://slack.example.com/api/"}, "SLACK_API_URL"},
		"teams no password":     {map[string]string{"MICROSOFT_APP_ID": appID, "MICROSOFT_APP_TENANT_ID": appID}, "MICROSOFT_APP_PASSWORD"},
		"teams no tenant":       {map[string]string{"MICROSOFT_APP_ID": appID, "MICROSOFT_APP_PASSWORD": "p"}, "MICROSOFT_APP_TENANT_ID"},
		"teams id not a guid":   {map[string]string{"MICROSOFT_APP_ID": "crmbot", "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TENANT_ID": appID}, "MICROSOFT_APP_ID"},
		"teams password alone":  {map[string]string{"MICROSOFT_APP_PASSWORD": "p"}, "MICROSOFT_APP_ID"},
		"short webhook secret":  {map[string]string{"CRMBOT_WEBHOOK_SECRET": "fifteen-chars-x"}, "CRMBOT_WEBHOOK_SECRET"},
		"webhook header alone":  {map[string]string{"CRMBOT_WEBHOOK_HEADER": "X-Crmbot-Key"}, "CRMBOT_WEBHOOK_SECRET"},
		"webhook header space":  {map[string]string{"CRMBOT_WEBHOOK_SECRET": webhookSecret, "CRMBOT_WEBHOOK_HEADER": "X Crmbot Key"}, "CRMBOT_WEBHOOK_HEADER"},
		"webhook header colon":  {map[string]string{"CRMBOT_WEBHOOK_SECRET": webhookSecret, "CRMBOT_WEBHOOK_HEADER": "X-Key:"}, "CRMBOT_WEBHOOK_HEADER"},
		"webhook header std":    {map[string]string{"CRMBOT_WEBHOOK_SECRET": webhookSecret, "CRMBOT_WEBHOOK_HEADER": "Content-Type"}, "CRMBOT_WEBHOOK_HEADER"},
		"webhook header x-ms":   {map[string]string{"CRMBOT_WEBHOOK_SECRET": webhookSecret, "CRMBOT_WEBHOOK_HEADER": "x-ms-dynamics-organization"}, "CRMBOT_WEBHOOK_HEADER"},
		"webhook secret ctl":    {map[string]string{"CRMBOT_WEBHOOK_SECRET": "0123456789abcdef\x01"}, "CRMBOT_WEBHOOK_SECRET"},
		"teams openid over http": {map[string]string{"MICROSOFT_APP_ID": appID, "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TENANT_ID": appID,
			"BOTFRAMEWORK_OPENID_URL": "http://login.botframework.com/v1/.well-known/openidconfiguration"}, "BOTFRAMEWORK_OPENID_URL"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestLoadSlackModes(t *testing.T) {
	c, err := Load(env(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}))
	if err != nil {
		t.Fatalf("Socket Mode needs no signing secret: %v", err)
	}
	if !c.Slack.Enabled() || !c.Slack.SocketMode() || c.Slack.APIURL != "https://slack.com/api/" {
		t.Fatalf("slack = %+v", c.Slack)
	}
	c, err = Load(env(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.SocketMode() || c.Slack.APIURL != "http://127.0.0.1:9/api/" {
		t.Fatalf("slack = %+v", c.Slack)
	}
	if c, _ := Load(env(nil)); c.Slack.Enabled() {
		t.Fatal("Slack on with nothing set")
	}
}

func TestLoadRealOrg(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATAVERSE_URL": "https://org.crm.dynamics.com/", "DATAVERSE_TENANT_ID": "t", "DATAVERSE_CLIENT_ID": "c",
		"DATAVERSE_CLIENT_SECRET": "s", "CRMBOT_ENCRYPTION_KEY": "k1, k2", "REDIS_URL": "redis://x",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Dataverse.URL != "https://org.crm.dynamics.com" || c.Dataverse.Sandbox() || len(c.EncryptionKey) != 2 {
		t.Fatalf("config = %+v", c)
	}
}

const webhookSecret = "0123456789abcdef" // exactly the 16-character minimum

func TestLoadWebhook(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.WebhookSecret != "" || c.WebhookHeader != "" {
		t.Fatalf("default: %+v, %v (want no webhook)", c, err)
	}
	c, err = Load(env(map[string]string{"CRMBOT_WEBHOOK_SECRET": " " + webhookSecret + " "}))
	if err != nil || c.WebhookSecret != webhookSecret || c.WebhookHeader != "" {
		t.Fatalf("WebhookKey: secret %q header %q, %v", c.WebhookSecret, c.WebhookHeader, err)
	}
	c, err = Load(env(map[string]string{"CRMBOT_WEBHOOK_SECRET": "clé-secrète-très-longue", "CRMBOT_WEBHOOK_HEADER": "X-Crmbot-Key"}))
	if err != nil || c.WebhookHeader != "X-Crmbot-Key" {
		t.Fatalf("HttpHeader: header %q, %v", c.WebhookHeader, err)
	}
	// 16 characters, fewer in bytes would not do: counted in characters.
	if _, err := Load(env(map[string]string{"CRMBOT_WEBHOOK_SECRET": strings.Repeat("é", 15)})); err == nil {
		t.Fatal("15 two-byte characters accepted")
	}
	// The error names the variable, never the secret.
	_, err = Load(env(map[string]string{"CRMBOT_WEBHOOK_SECRET": "tooshort"}))
	if err == nil || strings.Contains(err.Error(), "tooshort") {
		t.Fatalf("err = %v", err)
	}
}

const appID = "5f0c4a8e-2b1d-4c3e-9a7f-1e2d3c4b5a69"

// TestLoadTeamsModes: dev mode only with the sandbox and no app id; a real
// Dynamics without an app id turns Teams off rather than opening the
// unauthenticated endpoint.
func TestLoadTeamsModes(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Teams.DevMode || !c.Teams.Enabled() {
		t.Fatalf("bare machine: teams = %+v, want dev mode", c.Teams)
	}
	real := map[string]string{"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TENANT_ID": "t",
		"DATAVERSE_CLIENT_ID": "c", "DATAVERSE_CLIENT_SECRET": "s"}
	c, err = Load(env(real))
	if err != nil {
		t.Fatal(err)
	}
	if c.Teams.DevMode || c.Teams.Enabled() {
		t.Fatalf("real Dynamics without an app id: teams = %+v, want off", c.Teams)
	}
	real["MICROSOFT_APP_ID"], real["MICROSOFT_APP_PASSWORD"], real["MICROSOFT_APP_TENANT_ID"] = appID, "secret", "contoso.onmicrosoft.com"
	c, err = Load(env(real))
	if err != nil {
		t.Fatal(err)
	}
	if c.Teams.DevMode || !c.Teams.Enabled() || c.Teams.TokenURL() != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Fatalf("teams = %+v (token URL %s)", c.Teams, c.Teams.TokenURL())
	}
	// An app id with the sandbox: authenticated, not dev mode.
	c, err = Load(env(map[string]string{"MICROSOFT_APP_ID": appID, "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TENANT_ID": appID}))
	if err != nil || c.Teams.DevMode {
		t.Fatalf("app id with the sandbox: %+v, %v", c.Teams, err)
	}
}

package playground

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmbot/crmbot/crm/sandbox"
)

// ConfigFileName is the file the playground reads its mock tenant from: in its
// working directory, or wherever M365_AGENTS_PLAYGROUND_CONFIG_PATH points.
const ConfigFileName = ".m365agentsplayground.yml"

// User is the person at the keyboard of the playground: the Teams user whose
// identity every activity carries (from.id, from.aadObjectId,
// conversation.tenantId, channelData.tenant.id).
type User struct {
	// ID is the Teams channel account id (from.id); Teams' own look like "29:1…".
	// Default: "29:" + AADObjectID.
	ID string
	// AADObjectID is the Entra object id (from.aadObjectId): link a sandbox
	// user by setting it to their azureactivedirectoryobjectid.
	AADObjectID string
	// TenantID is the Entra tenant (conversation.tenantId, channelData.tenant.id).
	TenantID string
	// Name is the display name (from.name). GivenName and Surname default to its
	// first and remaining words; Email doubles as the UPN.
	Name, GivenName, Surname, Email string
	// Locale is what SendActivity puts in activity.locale and the clientInfo
	// entity (the playground itself always says "en-US"), and the locale the
	// playground's process runs in. Default "en-US".
	Locale string
}

// DemoUser is the first seeded sandbox user, Chloé Dubois (sales), in the
// sandbox's demo tenant: the committed .m365agentsplayground.yml holds her.
var DemoUser = sandboxUser(sandbox.DemoUsers()[0])

// DemoBot is the bot the committed config names (activity.recipient).
var DemoBot = Bot{ID: "28:" + sandbox.DefaultClientID, Name: "crmbot"}

// Bot is the bot account the playground addresses (activity.recipient).
type Bot struct{ ID, Name string }

func sandboxUser(u sandbox.User) User {
	return User{ID: "29:" + u.ObjectID, AADObjectID: u.ObjectID, TenantID: sandbox.DefaultTenantID,
		Name: u.FullName(), GivenName: u.FirstName, Surname: u.LastName, Email: u.Email, Locale: "en-US"}
}

// withDefaults fills what a test left empty: from the sandbox user with that
// object id (the demo user if none is given), else with made-up values.
func (u User) withDefaults() User {
	if u.AADObjectID == "" {
		u.AADObjectID = DemoUser.AADObjectID
	}
	known := User{Name: "Test User"}
	for _, su := range sandbox.DemoUsers() {
		if su.ObjectID == u.AADObjectID {
			known = sandboxUser(su)
		}
	}
	if u.ID == "" {
		u.ID = "29:" + u.AADObjectID
	}
	if u.TenantID == "" {
		u.TenantID = DemoUser.TenantID
	}
	if u.Name == "" {
		u.Name, u.GivenName, u.Surname, u.Email = known.Name, known.GivenName, known.Surname, known.Email
	}
	first, rest, _ := strings.Cut(u.Name, " ")
	if u.GivenName == "" {
		u.GivenName = first
	}
	if u.Surname == "" {
		u.Surname = rest
	}
	if u.Email == "" {
		u.Email = strings.ToLower(strings.ReplaceAll(u.Name, " ", ".")) + "@demo.crmbot.dev"
	}
	if u.Locale == "" {
		u.Locale = "en-US"
	}
	return u
}

// configFile is the playground's config schema 0.1.1 (its JSON schema
// requires exactly five other users and rejects unknown keys).
type configFile struct {
	Version      string       `yaml:"version"`
	TenantID     string       `yaml:"tenantId"`
	Bot          Bot          `yaml:"bot"`
	CurrentUser  configUser   `yaml:"currentUser"`
	Users        []configUser `yaml:"users"`
	PersonalChat struct {
		ID string `yaml:"id"`
	} `yaml:"personalChat"`
	GroupChat struct {
		ID   string `yaml:"id"`
		Name string `yaml:"name"`
	} `yaml:"groupChat"`
	Team struct {
		ID         string `yaml:"id"`
		Name       string `yaml:"name"`
		AADGroupID string `yaml:"aadGroupId"`
		Channels   []struct {
			ID   string `yaml:"id"`
			Name string `yaml:"name"`
		} `yaml:"channels"`
	} `yaml:"team"`
}

type configUser struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	UPN         string `yaml:"userPrincipleName"` // sic: the playground's spelling
	AADObjectID string `yaml:"aadObjectId"`
	GivenName   string `yaml:"givenName"`
	Surname     string `yaml:"surname"`
	Email       string `yaml:"email"`
}

func (u User) configUser() configUser {
	return configUser{ID: u.ID, Name: u.Name, UPN: u.Email, AADObjectID: u.AADObjectID,
		GivenName: u.GivenName, Surname: u.Surname, Email: u.Email}
}

// PersonalChatID is the 1:1 conversation between the user and the bot, fixed
// by the config so tests and logs can name it (Teams' look like "a:1…").
const PersonalChatID = "a:crmbot-playground-personal-chat"

// configYAML renders the playground's config for user and bot. The other
// five users of the mock tenant are the remaining sandbox users (so member
// lookups return real object ids) topped up with people the sandbox doesn't know.
func configYAML(user User, bot Bot) ([]byte, error) {
	var c configFile
	c.Version = "0.1.1"
	c.TenantID = user.TenantID
	c.Bot = bot
	c.CurrentUser = user.configUser()
	others := []User{}
	for _, su := range sandbox.DemoUsers() {
		others = append(others, sandboxUser(su))
	}
	others = append(others,
		User{AADObjectID: "c0ffee00-9999-4a2b-8c3d-000000000091", Name: "Priya Shah"},
		User{AADObjectID: "c0ffee00-9999-4a2b-8c3d-000000000092", Name: "Tomasz Nowak"})
	for _, o := range others {
		if len(c.Users) == 5 {
			break
		}
		if o.AADObjectID == user.AADObjectID {
			continue
		}
		o.TenantID = user.TenantID
		c.Users = append(c.Users, o.withDefaults().configUser())
	}
	c.PersonalChat.ID = PersonalChatID
	c.GroupChat.ID, c.GroupChat.Name = "19:crmbot-playground-group-chat@thread.v2", "Sales huddle"
	c.Team.ID, c.Team.Name = "19:crmbot-playground-general@thread.tacv2", "Sales"
	c.Team.AADGroupID = "c0ffee00-7777-4a2b-8c3d-000000000071"
	c.Team.Channels = append(c.Team.Channels, struct {
		ID   string `yaml:"id"`
		Name string `yaml:"name"`
	}{"19:crmbot-playground-deals@thread.tacv2", "Deals"})

	var b bytes.Buffer
	b.WriteString("# Mock Teams tenant for the Microsoft 365 Agents Playground (schema:\n" +
		"# https://aka.ms/teams-app-test-tool-config/0.1.1/config.schema.json).\n" +
		"# Generated by e2e/playground (go test ./e2e/playground -run TestCommittedConfig -update):\n" +
		"# the current user is a seeded sandbox user, so the bot can link them.\n")
	fmt.Fprintf(&b, "# currentUser: %s, tenant: the sandbox's demo tenant.\n", user.Name)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// Config is what GET /_internal/v1/config answers: the mock tenant the
// playground loaded, and its own settings.
type Config struct {
	Config struct {
		TenantID     string       `json:"tenantId"`
		Bot          Account      `json:"bot"`
		CurrentUser  ConfigUser   `json:"currentUser"`
		Users        []ConfigUser `json:"users"`
		PersonalChat Account      `json:"personalChat"`
		GroupChats   []Account    `json:"groupChats"`
		Teams        []Account    `json:"teams"`
	} `json:"config"`
	InternalConfig struct {
		Locale        string `json:"locale"`
		LocalTimezone string `json:"localTimezone"`
		ChannelID     string `json:"channelId"`
	} `json:"internalConfig"`
}

// Account is an id and a display name.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ConfigUser is a user of the mock tenant as the playground reports it.
type ConfigUser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	AADObjectID string `json:"aadObjectId"`
	Email       string `json:"email"`
}

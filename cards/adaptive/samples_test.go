package adaptive

import (
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/cards"
)

// words are one language's texts for the sample views.
type words struct {
	saved, savedText, view, edit, resolve, open, prev, next, newLead, leads, summary, search, empty,
	account, contacts, more, status, email, phone, company, topic, notes, amount, closeDate, meeting,
	rating, subscribed, website, headline, footer, required, confirmTitle, confirmText, yes, no,
	save, cancel, intro, conflict, hint, lead, owner, details, noMatch string
}

var english = words{
	saved: "Lead saved", savedText: "Seán O'Brien & Co <test> is now qualified.", view: "View", edit: "Edit",
	resolve: "Resolve", open: "Open in Dynamics", prev: "Previous", next: "Next", newLead: "New lead",
	leads: "My active leads", summary: "1–3 of 37", search: "Search leads…", empty: "No lead matches “Zoë”.",
	account: "Seán O'Brien & Co <test>", contacts: "Contacts", more: "All contacts", status: "Status",
	email: "Email", phone: "Phone", company: "Company", topic: "Topic", notes: "Notes", amount: "Budget",
	closeDate: "Est. close date", meeting: "Next meeting", rating: "Rating", subscribed: "Newsletter",
	website: "Website", headline: "Lead assigned to you by Seán", footer: "Change your notifications in settings",
	required: "This field is required", confirmTitle: "Close this case?", confirmText: "This cannot be undone.",
	yes: "Close case", no: "Keep open", save: "Save", cancel: "Cancel", intro: "Fields marked * are required.",
	conflict: "Someone changed this lead since you opened it.", hint: "Type to search accounts",
	lead: "Lead", owner: "Owner", details: "Details", noMatch: "No match for “zzz”",
}

var french = words{
	saved: "Prospect enregistré", savedText: "Seán O'Brien & Co <test> est désormais qualifié.", view: "Voir",
	edit: "Modifier", resolve: "Résoudre", open: "Ouvrir dans Dynamics", prev: "Précédent", next: "Suivant",
	newLead: "Nouveau prospect", leads: "Mes prospects actifs", summary: "1–3 sur 37",
	search: "Rechercher des prospects…", empty: "Aucun prospect ne correspond à « Zoë ».",
	account: "Seán O'Brien & Co <test>", contacts: "Contacts", more: "Tous les contacts", status: "Statut",
	email: "Courriel", phone: "Téléphone", company: "Société", topic: "Sujet", notes: "Remarques",
	amount: "Budget", closeDate: "Date de clôture prévue", meeting: "Prochain rendez-vous", rating: "Évaluation",
	subscribed: "Lettre d'information", website: "Site web", headline: "Prospect qui vous a été attribué par Seán",
	footer: "Modifiez vos notifications dans les paramètres", required: "Ce champ est obligatoire",
	confirmTitle: "Clôturer cette demande ?", confirmText: "Cette action est irréversible.",
	yes: "Clôturer la demande", no: "Laisser ouverte", save: "Enregistrer", cancel: "Annuler",
	intro: "Les champs marqués * sont obligatoires.", conflict: "Quelqu'un a modifié ce prospect depuis que vous l'avez ouvert.",
	hint: "Tapez pour chercher un compte", lead: "Prospect", owner: "Propriétaire", details: "Détails",
	noMatch: "Aucun résultat pour « zzz »",
}

const dynamicsURL = "https://contoso.crm.dynamics.com/main.aspx?etn=lead&id=0b9b3c2e-1f2a-4a5b-9c8d-7e6f5a4b3c2d&pagetype=entityrecord"

func ptr(f float64) *float64 { return &f }

func items(w words, n int) []cards.ListItem {
	names := []string{"Seán O'Brien & Co <test>", "Zoë Ångström", "Łukasz Żółć *bold* [link](https://evil.example)"}
	var out []cards.ListItem
	for i := range n {
		name := names[i%len(names)]
		out = append(out, cards.ListItem{
			Title:    name,
			Subtitle: w.status + " · " + w.account,
			Fields: []cards.Field{
				{Label: w.email, Value: "sean.obrien_" + string(rune('a'+i%26)) + "@example.com"},
				{Label: w.phone, Value: "+353 1 234 5678"},
			},
			Open: cards.Action{ID: "open", Value: "lead:0b9b3c2e-1f2a-4a5b-9c8d-7e6f5a4b3c2d", Label: w.view},
		})
	}
	return out
}

// samples are the golden views of one language, by golden name.
func samples(w words) map[string]cards.View {
	fields := []cards.Field{
		{Label: w.company, Value: w.account},
		{Label: w.email, Value: "sean@obrien.example"},
		{Label: w.owner, Value: "Seán O'Brien", Open: &cards.Action{ID: "open", Value: "systemuser:42", Label: w.view}},
		{Label: w.topic, Value: "Crème brûlée & <café> — 50 % off"},
	}
	long := strings.Repeat(w.savedText+" ", 10000/len(w.savedText)+1)
	var many []cards.Action
	for i := range 8 {
		many = append(many, cards.Action{ID: "act" + strconv.Itoa(i), Value: "lead:1", Label: w.edit + " " + strconv.Itoa(i)})
	}
	return map[string]cards.View{
		// oversized: cut to fit 28 KB, with more buttons than one row holds.
		"detail_oversized": &cards.Detail{
			Title: long, Subtitle: w.lead,
			Groups:  []cards.FieldGroup{{Title: w.details, Fields: []cards.Field{{Label: w.notes, Value: long}}}},
			Related: []cards.Related{{Title: w.contacts, Items: items(w, 200)}},
			Actions: many, OpenURL: dynamicsURL, OpenLabel: w.open,
		},
		"message": &cards.Message{Tone: cards.ToneSuccess, Title: w.saved, Text: []string{w.savedText, w.conflict},
			Actions: []cards.Action{{ID: "open", Value: "lead:1", Label: w.view}, {URL: dynamicsURL, Label: w.open}}},
		"message_error": &cards.Message{Tone: cards.ToneError, Text: []string{w.conflict}},
		"list": &cards.List{
			Title: w.leads, Summary: w.summary,
			Search:  &cards.SearchBox{ActionID: "search", Value: "Seán", Placeholder: w.search, State: "type=lead"},
			Items:   items(w, 3),
			Prev:    &cards.Action{ID: "page", Value: "cursor:0", Label: w.prev},
			Next:    &cards.Action{ID: "page", Value: "cursor:2", Label: w.next},
			Actions: []cards.Action{{ID: "new", Value: "lead", Label: w.newLead, Dialog: true, Style: cards.StylePrimary}},
		},
		"list_empty": &cards.List{
			Title: w.leads, Summary: w.noMatch, Empty: w.empty,
			Search: &cards.SearchBox{ActionID: "search", Value: "zzz", Placeholder: w.search, State: "type=lead"},
		},
		"detail": &cards.Detail{
			Title: w.account, Subtitle: w.lead + " · " + w.status,
			Groups: []cards.FieldGroup{{Fields: fields}, {Title: w.details, Fields: []cards.Field{{Label: w.notes, Value: w.savedText}}}},
			Related: []cards.Related{{Title: w.contacts, Items: items(w, 2),
				More: &cards.Action{ID: "related", Value: "account:1/contacts", Label: w.more}}},
			Actions: []cards.Action{
				{ID: "edit", Value: "lead:1", Label: w.edit, Dialog: true},
				{ID: "qualify", Value: "lead:1", Label: w.resolve, Style: cards.StylePrimary},
				{ID: "disqualify", Value: "lead:1", Label: w.no, Style: cards.StyleDanger},
			},
			OpenURL: dynamicsURL, OpenLabel: w.open,
		},
		"form": &cards.Form{
			ID: "lead.edit", Title: w.edit, SubmitLabel: w.save, CancelLabel: w.cancel, Intro: w.intro,
			State: "session:7f3a;etag:W/\"123\"",
			Inputs: []cards.Input{
				{Name: "subject", Label: w.topic, Kind: cards.InputText, Required: true, Value: "Crème brûlée & <café>", MaxLength: 300},
				{Name: "description", Label: w.notes, Kind: cards.InputMultiline, Hint: w.savedText},
				{Name: "budgetamount", Label: w.amount, Kind: cards.InputMoney, Currency: "€", Value: "12500.5", Min: ptr(0)},
				{Name: "numberofemployees", Label: "#", Kind: cards.InputNumber, Min: ptr(1), Max: ptr(1e6)},
				{Name: "estimatedclosedate", Label: w.closeDate, Kind: cards.InputDate, Value: "2026-03-31"},
				{Name: "scheduledstart", Label: w.meeting, Kind: cards.InputDateTime, Value: "2026-04-02T14:30:00"},
				{Name: "leadqualitycode", Label: w.rating, Kind: cards.InputChoice, Required: true, Value: "1",
					Options: []cards.Option{{Value: "1", Label: "Chaud 🔥"}, {Value: "2", Label: "Tiède"}, {Value: "3", Label: "Froid ❄"}}},
				{Name: "parentaccountid", Label: w.company, Kind: cards.InputLookup, Value: "account:1", ValueLabel: w.account,
					Lookup: &cards.LookupSource{Dataset: "lookup:account", MinQueryLength: 2}},
				{Name: "parentcontactid", Label: w.contacts, Kind: cards.InputLookup, Hint: w.hint,
					Lookup: &cards.LookupSource{Dataset: "lookup:contact"}},
				{Name: "donotbulkemail", Label: w.subscribed, Kind: cards.InputBool, Value: "true"},
				{Name: "emailaddress1", Label: w.email, Kind: cards.InputEmail, Required: true, Value: "not-an-email", Error: w.required},
				{Name: "telephone1", Label: w.phone, Kind: cards.InputPhone},
				{Name: "websiteurl", Label: w.website, Kind: cards.InputURL},
			},
		},
		"form_error": &cards.Form{
			ID: "lead.new", SubmitLabel: w.save, Error: w.conflict, State: "s",
			Inputs: []cards.Input{{Name: "subject", Label: w.topic, Required: true, Error: w.required}},
		},
		"confirmation": &cards.Confirmation{
			Title: w.confirmTitle, Text: []string{w.confirmText},
			Confirm: cards.Action{ID: "resolve", Value: "incident:1", Label: w.yes, Style: cards.StyleDanger},
			Cancel:  cards.Action{ID: "cancel", Value: "incident:1", Label: w.no},
		},
		"notification": &cards.Notification{
			Kind: cards.AssignedNew, Headline: w.headline, RecordType: w.lead, Title: w.account, Fields: fields,
			Actions: []cards.Action{{ID: "open", Value: "lead:1", Label: w.view}, {ID: "edit", Value: "lead:1", Label: w.edit, Dialog: true}},
			OpenURL: dynamicsURL, OpenLabel: w.open, At: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
			Footer: "09:30 · " + w.footer,
		},
	}
}

package slack

import (
	"time"

	"github.com/crmbot/crmbot/cards"
)

// sample is one representative view, rendered as a message (Blocks) or,
// with modal set, in a modal (ModalOf).
type sample struct {
	name  string
	view  cards.View
	modal bool
}

// texts are one language's strings for the samples.
type texts struct {
	lang, view, edit, newLead, prev, next, search, noMatch, myLeads, summary        string
	qualify, disqualify, company, status, open, phone, email, topic, revenue, owner string
	contacts, moreContacts, openCRM, confirmTitle, confirmText, yes, no, saved      string
	savedText, headline, footer, leadType, formTitle, save, cancel, intro, formErr  string
	firstName, descr, budget, closeDate, followUp, rating, account, doNotCall, site string
	hot, warm, cold, required, details, warning                                     string
}

var english = texts{
	lang: "en", view: "View", edit: "Edit", newLead: "New lead", prev: "Previous", next: "Next",
	search: "Search leads…", noMatch: "No match for “<b>”", myLeads: "My active leads", summary: "1–3 of 37",
	qualify: "Qualify", disqualify: "Disqualify", company: "Company", status: "Status", open: "Open",
	phone: "Phone", email: "Email", topic: "Topic", revenue: "Est. revenue", owner: "Owner",
	contacts: "Contacts", moreContacts: "All contacts", openCRM: "Open in Dynamics",
	confirmTitle: "Disqualify this lead?", confirmText: "Seán O'Brien & Co <test> will be closed as *lost*.",
	yes: "Disqualify", no: "Cancel", saved: "Lead saved", savedText: "Seán O'Brien & Co <test> was updated.",
	headline: "Lead assigned to you by Seán O'Brien", footer: "Change your notifications in settings",
	leadType: "Lead", formTitle: "Edit lead: Seán O'Brien & Co <test>", save: "Save", cancel: "Cancel",
	intro:     "Fields marked * are required. <Dynamics> checks duplicates & rules.",
	formErr:   "Someone else changed this lead. Review & save again.",
	firstName: "Name", descr: "Description", budget: "Budget", closeDate: "Est. close date",
	followUp: "Follow up at", rating: "Rating", account: "Account", doNotCall: "Do not call",
	site: "Website", hot: "Hot", warm: "Warm", cold: "Cold", required: "This field is required.",
	details: "Details", warning: "Dynamics is slow right now & <may> time out.",
}

var french = texts{
	lang: "fr", view: "Voir", edit: "Modifier", newLead: "Nouveau prospect", prev: "Précédent", next: "Suivant",
	search: "Rechercher des prospects…", noMatch: "Aucun résultat pour « <b> »", myLeads: "Mes prospects actifs",
	summary: "1–3 sur 37", qualify: "Qualifier", disqualify: "Disqualifier", company: "Société", status: "Statut",
	open: "Ouvert", phone: "Téléphone", email: "E-mail", topic: "Sujet", revenue: "Revenu estimé",
	owner: "Propriétaire", contacts: "Contacts", moreContacts: "Tous les contacts", openCRM: "Ouvrir dans Dynamics",
	confirmTitle: "Disqualifier ce prospect ?", confirmText: "Seán O'Brien & Co <test> sera fermé comme *perdu*.",
	yes: "Disqualifier", no: "Annuler", saved: "Prospect enregistré",
	savedText: "Seán O'Brien & Co <test> a été mis à jour.",
	headline:  "Prospect qui vous a été attribué par Seán O'Brien",
	footer:    "Modifiez vos notifications dans les paramètres", leadType: "Prospect",
	formTitle: "Modifier le prospect : Seán O'Brien & Co <test>", save: "Enregistrer", cancel: "Annuler",
	intro:     "Les champs marqués * sont obligatoires. <Dynamics> vérifie les doublons & les règles.",
	formErr:   "Quelqu’un d’autre a modifié ce prospect. Vérifiez & enregistrez à nouveau.",
	firstName: "Nom", descr: "Description", budget: "Budget", closeDate: "Date de clôture estimée",
	followUp: "Relance le", rating: "Évaluation", account: "Compte", doNotCall: "Ne pas appeler",
	site: "Site web", hot: "Chaud", warm: "Tiède", cold: "Froid", required: "Ce champ est obligatoire.",
	details: "Détails", warning: "Dynamics est lent en ce moment & <peut> expirer.",
}

func ptr(f float64) *float64 { return &f }

func sampleItem(t texts, i int, name, company string) cards.ListItem {
	return cards.ListItem{
		Title:    name,
		Subtitle: company + " · " + t.open,
		Fields: []cards.Field{
			{Label: t.topic, Value: "Café & croissants <bulk> order"},
			{Label: t.revenue, Value: "12 500,00 €"},
		},
		Open: cards.Action{ID: "open", Value: "lead:" + string(rune('a'+i)), Label: t.view},
	}
}

func sampleList(t texts) *cards.List {
	return &cards.List{
		Title:   t.myLeads,
		Summary: t.summary,
		Search:  &cards.SearchBox{ActionID: "search", Value: "O'Brien & Co", Placeholder: t.search, State: "lead"},
		Items: []cards.ListItem{
			sampleItem(t, 0, "Seán O'Brien & Co <test>", "Contoso"),
			sampleItem(t, 1, "Zoë Lefèvre", "Fabrikam <EU>"),
			sampleItem(t, 2, "Łukasz Żółć", "Adatum & Söhne"),
		},
		Prev:    nil,
		Next:    &cards.Action{ID: "page", Value: "cursor:next:3", Label: t.next},
		Actions: []cards.Action{{ID: "new", Value: "lead", Label: t.newLead, Style: cards.StylePrimary, Dialog: true}},
	}
}

func sampleDetail(t texts) *cards.Detail {
	return &cards.Detail{
		Title:    "Seán O'Brien & Co <test>",
		Subtitle: t.leadType + " · " + t.open,
		Groups: []cards.FieldGroup{
			{Title: t.details, Fields: []cards.Field{
				{Label: t.company, Value: "Contoso <Ireland> & Co"},
				{Label: t.topic, Value: "Café & croissants"},
				{Label: t.phone, Value: "+353 1 234 5678"},
				{Label: t.email, Value: "sean@contoso.ie"},
				{Label: t.revenue, Value: "12 500,00 €"},
				{Label: t.owner, Value: "Zoë Lefèvre", Open: &cards.Action{ID: "open", Value: "systemuser:42"}},
			}},
			{Fields: []cards.Field{{Label: t.descr, Value: ""}}},
		},
		Related: []cards.Related{{
			Title: t.contacts,
			Items: []cards.ListItem{
				{Title: "Aoife Ní Bhriain", Subtitle: "CEO", Open: cards.Action{ID: "open", Value: "contact:1", Label: t.view}},
				{Title: "Émile <Dev> Durand", Open: cards.Action{ID: "open", Value: "contact:2", Label: t.view}},
			},
			More: &cards.Action{ID: "related", Value: "lead:a/contacts", Label: t.moreContacts},
		}},
		Actions: []cards.Action{
			{ID: "edit", Value: "lead:a", Label: t.edit, Dialog: true},
			{ID: "qualify", Value: "lead:a", Label: t.qualify, Style: cards.StylePrimary},
			{ID: "disqualify", Value: "lead:a", Label: t.disqualify, Style: cards.StyleDanger},
		},
		OpenURL:   "https://contoso.crm4.dynamics.com/main.aspx?etn=lead&id=a&pagetype=entityrecord",
		OpenLabel: t.openCRM,
	}
}

func sampleForm(t texts) *cards.Form {
	return &cards.Form{
		ID:          "edit-lead",
		Title:       t.formTitle,
		SubmitLabel: t.save,
		CancelLabel: t.cancel,
		Intro:       t.intro,
		Error:       t.formErr,
		State:       "session:7f3a&etag=W/\"1234\"",
		Inputs: []cards.Input{
			{Name: "fullname", Label: t.firstName, Kind: cards.InputText, Required: true, Value: "Seán O'Brien & Co <test>", MaxLength: 100, Error: t.required},
			{Name: "description", Label: t.descr, Hint: "Café & <notes>", Kind: cards.InputMultiline},
			{Name: "budgetamount", Label: t.budget, Kind: cards.InputMoney, Currency: "€", Value: "12500.5", Min: ptr(0), Max: ptr(1e9)},
			{Name: "numberofemployees", Label: "#", Kind: cards.InputNumber, Value: "42"},
			{Name: "estimatedclosedate", Label: t.closeDate, Kind: cards.InputDate, Value: "2026-03-31"},
			{Name: "followup", Label: t.followUp, Kind: cards.InputDateTime, Value: "2026-03-02T09:30:00Z"},
			{Name: "leadqualitycode", Label: t.rating, Kind: cards.InputChoice, Value: "2", Options: []cards.Option{
				{Value: "1", Label: t.hot}, {Value: "2", Label: t.warm}, {Value: "3", Label: t.cold},
			}},
			{Name: "parentaccountid", Label: t.account, Kind: cards.InputLookup, Value: "account:9", ValueLabel: "Contoso <Ireland> & Co",
				Lookup: &cards.LookupSource{Dataset: "lookup:account", MinQueryLength: 2}},
			{Name: "donotphone", Label: t.doNotCall, Kind: cards.InputBool, Value: "true"},
			{Name: "emailaddress1", Label: t.email, Kind: cards.InputEmail, Value: "sean@contoso.ie"},
			{Name: "telephone1", Label: t.phone, Kind: cards.InputPhone, Value: "+353 1 234 5678"},
			{Name: "websiteurl", Label: t.site, Kind: cards.InputURL, Value: "https://contoso.ie/?a=1&b=2"},
		},
	}
}

// samples are the golden files' views in one language.
func samples(t texts) []sample {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	return []sample{
		{name: "message", view: &cards.Message{
			Tone: cards.ToneSuccess, Title: t.saved,
			Text:    []string{t.savedText, "<https://evil.example|click> & @here"},
			Actions: []cards.Action{{ID: "open", Value: "lead:a", Label: t.view}, {ID: "open", Value: "lead:b", Label: t.view}},
		}},
		{name: "message_warning", view: &cards.Message{Tone: cards.ToneWarning, Text: []string{t.warning}}},
		{name: "list", view: sampleList(t)},
		{name: "list_empty", view: &cards.List{Title: t.myLeads, Summary: t.noMatch, Empty: t.noMatch,
			Search: &cards.SearchBox{ActionID: "search", Value: "<b>", Placeholder: t.search, State: "lead"}}},
		{name: "detail", view: sampleDetail(t)},
		{name: "detail_modal", view: sampleDetail(t), modal: true},
		{name: "form", view: sampleForm(t), modal: true},
		{name: "confirmation", view: &cards.Confirmation{
			Title:   t.confirmTitle,
			Text:    []string{t.confirmText},
			Confirm: cards.Action{ID: "disqualify", Value: "lead:a", Label: t.yes, Style: cards.StyleDanger},
			Cancel:  cards.Action{ID: "cancel", Value: "lead:a", Label: t.no},
		}},
		{name: "notification", view: &cards.Notification{
			Kind: cards.AssignedNew, Headline: t.headline, RecordType: t.leadType, Title: "Seán O'Brien & Co <test>",
			Fields: []cards.Field{
				{Label: t.company, Value: "Contoso <Ireland> & Co"},
				{Label: t.topic, Value: "Café & croissants"},
			},
			Actions:   []cards.Action{{ID: "open", Value: "lead:a", Label: t.view, Style: cards.StylePrimary}},
			OpenURL:   "https://contoso.crm4.dynamics.com/main.aspx?etn=lead&id=a&pagetype=entityrecord",
			OpenLabel: t.openCRM, At: at, Footer: t.footer,
		}},
	}
}

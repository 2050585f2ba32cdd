package sandbox

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Fixed ids of the demo org's reference data.
const (
	// USDCurrencyID is the org's base currency (US Dollar).
	USDCurrencyID = "7c1a2b3d-4e5f-4061-8a7b-9c0d1e2f3a4b"
	// EURCurrencyID is a second currency (Euro).
	EURCurrencyID = "8d2b3c4e-5f60-4172-9b8c-0d1e2f3a4b5c"
)

// seeder generates the deterministic demo org.
type seeder struct {
	o   *org
	t   *tx
	rnd *rand.Rand
	now time.Time
}

func (sd *seeder) id() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(sd.rnd.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// seed fills the org: directory, reference data and, unless RecordsPerType is
// -1, realistic related records spread over owners and states.
func (o *org) seed() {
	seed := uint64(o.opts.Seed)
	sd := &seeder{o: o, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: o.now()}
	sd.t = o.begin(Principal{UserID: AppUserID, App: true})
	defer sd.t.commit()
	sd.directory()
	if n := o.opts.RecordsPerType; n > 0 {
		sd.records(n)
	}
}

// make creates a record with a fixed id, owner and creation time.
func (sd *seeder) make(entity, id string, attrs map[string]any, lookups map[string]lookupRef, owner lookupRef, created time.Time) *record {
	e := sd.o.schema.byName[entity]
	in := &input{attrs: attrs, lookups: lookups}
	if in.lookups == nil {
		in.lookups = map[string]lookupRef{}
	}
	if owner.ID != "" && e.has("_ownerid_value") {
		in.lookups["_ownerid_value"] = owner
	}
	r, err := sd.t.create(e, id, in)
	if err != nil {
		panic(fmt.Sprintf("sandbox seed %s: %v", entity, err)) // the seed is code: a failure is a bug
	}
	if !created.IsZero() {
		r.attrs["createdon"], r.attrs["modifiedon"] = created, created
		if owner.Entity == "systemuser" {
			sd.t.setLookupIf(e, r, "_createdby_value", "systemuser", owner.ID)
			sd.t.setLookupIf(e, r, "_modifiedby_value", "systemuser", owner.ID)
		}
	}
	return r
}

// close sets a seeded record's state directly (the seed may create closed records).
func (sd *seeder) close(r *record, state, status int) {
	r.attrs["statecode"], r.attrs["statuscode"] = int64(state), int64(status)
}

func (sd *seeder) directory() {
	o := sd.o
	sd.make("businessunit", BusinessUnitID, map[string]any{"name": "crmbot demo", "isdisabled": false}, nil, lookupRef{}, time.Time{})
	sd.make("transactioncurrency", USDCurrencyID, map[string]any{"currencyname": "US Dollar", "isocurrencycode": "USD", "currencysymbol": "$", "exchangerate": 1.0}, nil, lookupRef{}, time.Time{})
	sd.make("transactioncurrency", EURCurrencyID, map[string]any{"currencyname": "Euro", "isocurrencycode": "EUR", "currencysymbol": "€", "exchangerate": 0.92}, nil, lookupRef{}, time.Time{})
	appUser := sd.make("systemuser", AppUserID, map[string]any{
		"firstname": "#", "lastname": "crmbot sync", "applicationid": uuid.NewSHA1(uuid.NameSpaceOID, []byte(o.opts.ClientID)).String(),
		"azureactivedirectoryobjectid": AppObjectID, "isdisabled": false, "islicensed": false, "isintegrationuser": false,
		"domainname": "crmbot-sync@demo.crmbot.dev",
	}, nil, lookupRef{}, time.Time{})
	appUser.attrs["fullname"] = "# crmbot sync"
	appUser.attrs["_businessunitid_value"], appUser.ltype["_businessunitid_value"] = BusinessUnitID, "businessunit"
	o.roles[AppUserID] = "app"
	for _, u := range o.users {
		r := sd.make("systemuser", u.ID, map[string]any{
			"firstname": u.FirstName, "lastname": u.LastName, "internalemailaddress": u.Email, "domainname": u.Email,
			"azureactivedirectoryobjectid": u.ObjectID, "title": u.Title, "jobtitle": u.Title, "isdisabled": false, "islicensed": true,
		}, nil, lookupRef{}, time.Time{})
		bu := u.BusinessUnitID
		if bu == "" {
			bu = BusinessUnitID
		}
		r.attrs["_businessunitid_value"], r.ltype["_businessunitid_value"] = bu, "businessunit"
		o.roles[u.ID] = u.Role
	}
	org := sd.make("organization", DefaultOrgID, map[string]any{
		"name": "crmbotsandbox", "expirechangetrackingindays": int64(math.Ceil(o.opts.DeltaTokenTTL.Hours() / 24)),
	}, nil, lookupRef{}, time.Time{})
	org.attrs["_basecurrencyid_value"], org.ltype["_basecurrencyid_value"] = USDCurrencyID, "transactioncurrency"
	manager := ""
	for _, u := range o.users {
		if u.Role == "manager" {
			manager = u.ID
		}
	}
	for _, team := range []struct{ id, name, role string }{{SalesTeamID, "Sales", "sales"}, {SupportTeamID, "Support", "support"}} {
		r := sd.make("team", team.id, map[string]any{"name": team.name, "teamtype": int64(0), "isdefault": false}, nil, lookupRef{}, time.Time{})
		r.attrs["_businessunitid_value"], r.ltype["_businessunitid_value"] = BusinessUnitID, "businessunit"
		if manager != "" {
			r.attrs["_administratorid_value"], r.ltype["_administratorid_value"] = manager, "systemuser"
		}
		for _, u := range o.users {
			if u.Role == team.role || u.Role == "manager" {
				o.teams[team.id] = append(o.teams[team.id], u.ID)
			}
		}
	}
	for _, name := range []string{"Fabrikam, Inc.", "Concurrence Léger SA", "Wettbewerb & Partner GmbH"} {
		sd.make("competitor", sd.id(), map[string]any{"name": name}, nil, lookupRef{}, time.Time{})
	}
}

// ownerFor spreads records: every 7th to a team, the rest over the users of roles.
func (sd *seeder) ownerFor(i int, team string, roles ...string) lookupRef {
	if i%7 == 6 {
		return lookupRef{Entity: "team", ID: team}
	}
	var ids []string
	for _, u := range sd.o.users {
		for _, r := range roles {
			if u.Role == r {
				ids = append(ids, u.ID)
			}
		}
	}
	return lookupRef{Entity: "systemuser", ID: ids[i%len(ids)]}
}

func (sd *seeder) ago(maxDays int) time.Time {
	return sd.now.Add(-time.Duration(sd.rnd.IntN(maxDays*24*60)) * time.Minute).Truncate(time.Second)
}

func (sd *seeder) description(i int) any {
	switch {
	case i%10 == 3:
		// As long as Dataverse allows (2,000 characters, bounds.go): about 2 KB.
		long := []rune(strings.Repeat(seedLongParagraph, 5))
		return strings.TrimSpace(string(long[:2000]))
	case i%5 == 1:
		return nil
	}
	return "Suivi client — " + pick(sd.rnd, seedCities) + "."
}

func setIf(m map[string]any, k string, v any) {
	if v != nil {
		m[k] = v
	}
}

func (sd *seeder) records(n int) {
	type ref struct{ id, name string }
	var accounts, contacts, leads, opps, cases []ref
	accountContacts := map[string]string{}
	for i := range n {
		name := seedCompanies[i%len(seedCompanies)]
		if i >= len(seedCompanies) {
			name = fmt.Sprintf("%s %d", name, i/len(seedCompanies)+1)
		}
		city := pick(sd.rnd, seedCities)
		attrs := map[string]any{
			"name": name, "accountnumber": fmt.Sprintf("ACC-%05d", 1000+i), "telephone1": fmt.Sprintf("+33 1 %02d %02d %02d %02d", sd.rnd.IntN(100), sd.rnd.IntN(100), sd.rnd.IntN(100), sd.rnd.IntN(100)),
			"emailaddress1": fmt.Sprintf("contact%d@%s.example", i, strings.ToLower(strings.Fields(strings.NewReplacer("'", "", "é", "e", "ü", "u", "ö", "o", "ä", "a").Replace(name))[0])),
			"websiteurl":    fmt.Sprintf("https://www.example-%d.com", i), "address1_city": city,
			"industrycode": int64(1 + sd.rnd.IntN(33)), "customertypecode": int64(3), "revenue": float64(sd.rnd.IntN(5000)) * 1000,
			"numberofemployees": int64(5 + sd.rnd.IntN(5000)),
		}
		setIf(attrs, "description", sd.description(i))
		r := sd.make("account", sd.id(), attrs, nil, sd.ownerFor(i, SalesTeamID, "sales", "manager"), sd.ago(400))
		if i%9 == 8 {
			sd.close(r, 1, 2)
		}
		accounts = append(accounts, ref{r.str("accountid"), name})
	}
	for i := range n {
		first, last := seedFirstNames[i%len(seedFirstNames)], seedLastNames[(i*7)%len(seedLastNames)]
		acc := accounts[i%len(accounts)]
		attrs := map[string]any{
			"firstname": first, "lastname": last, "jobtitle": pick(sd.rnd, seedJobTitles),
			"emailaddress1": fmt.Sprintf("%s.%s%d@example.com", asciiFold(first), asciiFold(last), i),
			"telephone1":    fmt.Sprintf("+49 30 %07d", sd.rnd.IntN(10000000)), "mobilephone": fmt.Sprintf("+33 6 %08d", sd.rnd.IntN(100000000)),
			"preferredcontactmethodcode": int64(1 + sd.rnd.IntN(5)),
		}
		setIf(attrs, "description", sd.description(i))
		lk := map[string]lookupRef{"_parentcustomerid_value": {Nav: "parentcustomerid_account", Entity: "account", ID: acc.id}}
		r := sd.make("contact", sd.id(), attrs, lk, sd.ownerFor(i, SalesTeamID, "sales", "manager"), sd.ago(300))
		contacts = append(contacts, ref{r.str("contactid"), r.str("fullname")})
		if _, ok := accountContacts[acc.id]; !ok {
			accountContacts[acc.id] = r.str("contactid")
		}
	}
	for i := range n {
		first, last := seedFirstNames[(i*3)%len(seedFirstNames)], seedLastNames[(i*11)%len(seedLastNames)]
		attrs := map[string]any{
			"subject": seedLeadTopics[i%len(seedLeadTopics)], "firstname": first, "lastname": last,
			"companyname": seedCompanies[(i*5)%len(seedCompanies)], "emailaddress1": fmt.Sprintf("%s.%s@prospect%d.example", asciiFold(first), asciiFold(last), i),
			"telephone1": fmt.Sprintf("+44 20 %04d %04d", sd.rnd.IntN(10000), sd.rnd.IntN(10000)), "leadsourcecode": int64(1 + sd.rnd.IntN(10)),
			"leadqualitycode": int64(1 + sd.rnd.IntN(3)), "estimatedamount": float64(5+sd.rnd.IntN(200)) * 500, "jobtitle": pick(sd.rnd, seedJobTitles),
		}
		setIf(attrs, "description", sd.description(i))
		r := sd.make("lead", sd.id(), attrs, nil, sd.ownerFor(i, SalesTeamID, "sales", "manager"), sd.ago(120))
		switch i % 8 {
		case 5:
			sd.close(r, 2, 4+sd.rnd.IntN(4))
		case 7:
			sd.close(r, 1, 3)
		case 2:
			r.attrs["statuscode"] = int64(2)
		}
		leads = append(leads, ref{r.str("leadid"), r.str("fullname")})
	}
	for i := range n {
		acc := accounts[(i*3)%len(accounts)]
		attrs := map[string]any{
			"name": seedOpportunityNames[i%len(seedOpportunityNames)] + " — " + acc.name, "estimatedvalue": float64(10+sd.rnd.IntN(490)) * 250,
			"estimatedclosedate": sd.now.AddDate(0, 0, sd.rnd.IntN(120)-20).Format("2006-01-02"), "closeprobability": int64(10 * (1 + sd.rnd.IntN(9))),
			"opportunityratingcode": int64(1 + sd.rnd.IntN(3)),
		}
		setIf(attrs, "description", sd.description(i))
		lk := map[string]lookupRef{
			"_customerid_value":            {Nav: "customerid_account", Entity: "account", ID: acc.id},
			"_transactioncurrencyid_value": {Nav: "transactioncurrencyid", Entity: "transactioncurrency", ID: USDCurrencyID},
		}
		if c, ok := accountContacts[acc.id]; ok {
			lk["_parentcontactid_value"] = lookupRef{Nav: "parentcontactid", Entity: "contact", ID: c}
		}
		r := sd.make("opportunity", sd.id(), attrs, lk, sd.ownerFor(i, SalesTeamID, "sales", "manager"), sd.ago(180))
		switch i % 10 {
		case 4:
			sd.close(r, 1, 3)
			r.attrs["actualvalue"], r.attrs["actualclosedate"] = r.attrs["estimatedvalue"], sd.ago(30).Format("2006-01-02")
		case 8:
			sd.close(r, 2, 4+sd.rnd.IntN(2))
			r.attrs["actualclosedate"] = sd.ago(30).Format("2006-01-02")
		case 1:
			r.attrs["statuscode"] = int64(2)
		}
		opps = append(opps, ref{r.str("opportunityid"), r.str("name")})
	}
	for i := range n {
		acc := accounts[(i*5)%len(accounts)]
		attrs := map[string]any{
			"title": seedCaseTitles[i%len(seedCaseTitles)], "prioritycode": int64(1 + sd.rnd.IntN(3)),
			"caseorigincode": int64([]int{1, 2, 3}[sd.rnd.IntN(3)]), "casetypecode": int64(1 + sd.rnd.IntN(3)),
			"ticketnumber": fmt.Sprintf("CAS-%05d-%s", 1000+i, strings.ToUpper(sd.id()[:6])),
		}
		setIf(attrs, "description", sd.description(i))
		lk := map[string]lookupRef{"_customerid_value": {Nav: "customerid_account", Entity: "account", ID: acc.id}}
		if c, ok := accountContacts[acc.id]; ok {
			lk["_primarycontactid_value"] = lookupRef{Nav: "primarycontactid", Entity: "contact", ID: c}
		}
		r := sd.make("incident", sd.id(), attrs, lk, sd.ownerFor(i, SupportTeamID, "support", "manager"), sd.ago(90))
		switch i % 9 {
		case 4:
			sd.close(r, 1, 5)
		case 7:
			sd.close(r, 2, 6)
		case 2:
			r.attrs["statuscode"] = int64(2 + sd.rnd.IntN(3))
		}
		cases = append(cases, ref{r.str("incidentid"), r.str("title")})
	}
	regarding := func(i int, activity string) (lookupRef, bool) {
		pools := []struct {
			entity string
			refs   []ref
		}{{"account", accounts}, {"contact", contacts}, {"opportunity", opps}, {"incident", cases}, {"lead", leads}}
		p := pools[i%len(pools)]
		if len(p.refs) == 0 || i%11 == 10 {
			return lookupRef{}, false
		}
		return lookupRef{Nav: "regardingobjectid_" + p.entity + "_" + activity, Entity: p.entity, ID: p.refs[(i*7)%len(p.refs)].id}, true
	}
	for _, act := range []string{"task", "phonecall", "appointment"} {
		for i := range n {
			start := sd.now.Add(time.Duration(sd.rnd.IntN(24*30)-24*10) * time.Hour).Truncate(time.Hour)
			attrs := map[string]any{"scheduledstart": start, "scheduledend": start.Add(time.Hour), "prioritycode": int64(sd.rnd.IntN(3))}
			switch act {
			case "task":
				attrs["subject"] = seedTaskSubjects[i%len(seedTaskSubjects)]
			case "phonecall":
				attrs["subject"] = seedCallSubjects[i%len(seedCallSubjects)]
				attrs["phonenumber"] = fmt.Sprintf("+33 1 %08d", sd.rnd.IntN(100000000))
				attrs["directioncode"] = i%3 != 0
			case "appointment":
				attrs["subject"] = seedAppointmentSubjects[i%len(seedAppointmentSubjects)]
				attrs["location"] = pick(sd.rnd, seedCities)
			}
			setIf(attrs, "description", sd.description(i))
			lk := map[string]lookupRef{}
			if reg, ok := regarding(i, act); ok {
				lk["_regardingobjectid_value"] = reg
			}
			team := SalesTeamID
			if i%2 == 1 {
				team = SupportTeamID
			}
			r := sd.make(act, sd.id(), attrs, lk, sd.ownerFor(i, team, "sales", "support", "manager"), sd.ago(30))
			if i%6 == 4 {
				done := map[string][2]int{"task": {1, 5}, "phonecall": {1, 2}, "appointment": {1, 3}}[act]
				sd.close(r, done[0], done[1])
			} else if i%13 == 12 {
				canceled := map[string][2]int{"task": {2, 6}, "phonecall": {2, 3}, "appointment": {2, 4}}[act]
				sd.close(r, canceled[0], canceled[1])
			}
		}
	}
}

// asciiFold makes an e-mail-safe local part from a name.
func asciiFold(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ë", "e", "É", "E", "ü", "u", "ö", "o", "ä", "a", "ß", "ss", "ø", "o",
		"á", "a", "í", "i", "ó", "o", "'", "", " ", "", "Ö", "O", "Ü", "U")
	return strings.ToLower(r.Replace(s))
}

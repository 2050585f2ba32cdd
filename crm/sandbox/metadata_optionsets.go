package sandbox

// Option-set labels of the demo org: the Dynamics 365 out-of-the-box values and
// English labels. Kept as data so formatted values, validation and the seed agree.

// stateInfo is one statecode with its status reasons (the first is the default).
type stateInfo struct {
	Code     int
	Label    string
	Statuses []optionLabel
}

type optionLabel struct {
	Value int
	Label string
}

// stateModels are the statecode/statuscode pairs per entity (dataverse.md).
var stateModels = map[string][]stateInfo{
	"account": {{0, "Active", []optionLabel{{1, "Active"}}}, {1, "Inactive", []optionLabel{{2, "Inactive"}}}},
	"contact": {{0, "Active", []optionLabel{{1, "Active"}}}, {1, "Inactive", []optionLabel{{2, "Inactive"}}}},
	"lead": {
		{0, "Open", []optionLabel{{1, "New"}, {2, "Contacted"}}},
		{1, "Qualified", []optionLabel{{3, "Qualified"}}},
		{2, "Disqualified", []optionLabel{{4, "Lost"}, {5, "Cannot Contact"}, {6, "No Longer Interested"}, {7, "Canceled"}}},
	},
	"opportunity": {
		{0, "Open", []optionLabel{{1, "In Progress"}, {2, "On Hold"}}},
		{1, "Won", []optionLabel{{3, "Won"}}},
		{2, "Lost", []optionLabel{{4, "Canceled"}, {5, "Out-Sold"}}},
	},
	"incident": {
		{0, "Active", []optionLabel{{1, "In Progress"}, {2, "On Hold"}, {3, "Waiting for Details"}, {4, "Researching"}}},
		{1, "Resolved", []optionLabel{{5, "Problem Solved"}, {1000, "Information Provided"}}},
		{2, "Cancelled", []optionLabel{{6, "Cancelled"}, {2000, "Merged"}}},
	},
	"task": {
		{0, "Open", []optionLabel{{2, "Not Started"}, {3, "In Progress"}, {4, "Waiting on someone else"}, {7, "Deferred"}}},
		{1, "Completed", []optionLabel{{5, "Completed"}}},
		{2, "Canceled", []optionLabel{{6, "Canceled"}}},
	},
	"phonecall": {
		{0, "Open", []optionLabel{{1, "Open"}}},
		{1, "Completed", []optionLabel{{2, "Made"}, {4, "Received"}}},
		{2, "Canceled", []optionLabel{{3, "Canceled"}}},
	},
	"appointment": {
		{0, "Open", []optionLabel{{1, "Free"}, {2, "Tentative"}}},
		{1, "Completed", []optionLabel{{3, "Completed"}}},
		{2, "Canceled", []optionLabel{{4, "Canceled"}}},
		{3, "Scheduled", []optionLabel{{5, "Busy"}, {6, "Out of Office"}}},
	},
	"incidentresolution": {
		{0, "Open", []optionLabel{{1, "Open"}}}, {1, "Completed", []optionLabel{{2, "Closed"}}}, {2, "Canceled", []optionLabel{{3, "Canceled"}}},
	},
	"opportunityclose": {
		{0, "Open", []optionLabel{{1, "Open"}}}, {1, "Completed", []optionLabel{{2, "Completed"}}}, {2, "Canceled", []optionLabel{{3, "Canceled"}}},
	},
	"competitor":          {},
	"transactioncurrency": {{0, "Active", []optionLabel{{1, "Active"}}}, {1, "Inactive", []optionLabel{{2, "Inactive"}}}},
}

// stateEnumNames are the SDK enum names used in Dataverse's state messages.
var stateEnumNames = map[string]string{
	"account": "AccountState", "contact": "ContactState", "lead": "LeadState", "opportunity": "OpportunityState",
	"incident": "IncidentState", "task": "TaskState", "phonecall": "PhoneCallState", "appointment": "AppointmentState",
	"incidentresolution": "IncidentResolutionState", "opportunityclose": "OpportunityCloseState",
	"transactioncurrency": "TransactionCurrencyState",
}

func stateOf(entity string, code int) (stateInfo, bool) {
	for _, s := range stateModels[entity] {
		if s.Code == code {
			return s, true
		}
	}
	return stateInfo{}, false
}

// stateForStatus returns the statecode a statuscode belongs to.
func stateForStatus(entity string, status int) (int, bool) {
	for _, s := range stateModels[entity] {
		for _, st := range s.Statuses {
			if st.Value == status {
				return s.Code, true
			}
		}
	}
	return 0, false
}

// picklists are option-set labels by attribute, per entity ("*" applies to all).
var picklists = map[string]map[string][]optionLabel{
	"*": {
		"preferredcontactmethodcode": {{1, "Any"}, {2, "Email"}, {3, "Phone"}, {4, "Fax"}, {5, "Mail"}},
		"industrycode": {
			{1, "Accounting"}, {2, "Agriculture and Non-petrol Natural Resource Extraction"},
			{3, "Broadcasting Printing and Publishing"}, {4, "Brokers"}, {5, "Building Supply Retail"},
			{6, "Business Services"}, {7, "Consulting"}, {8, "Consumer Services"},
			{9, "Design, Direction and Creative Management"}, {10, "Distributors, Dispatchers and Processors"},
			{11, "Doctor's Offices and Clinics"}, {12, "Durable Manufacturing"}, {13, "Eating and Drinking Places"},
			{14, "Entertainment Retail"}, {15, "Equipment Rental and Leasing"}, {16, "Financial"},
			{17, "Food and Tobacco Processing"}, {18, "Inbound Capital Intensive Processing"},
			{19, "Inbound Repair and Services"}, {20, "Insurance"}, {21, "Legal Services"},
			{22, "Non-Durable Merchandise Retail"}, {23, "Outbound Consumer Service"},
			{24, "Petrochemical Extraction and Distribution"}, {25, "Service Retail"}, {26, "SIG Affiliations"},
			{27, "Social Services"}, {28, "Special Outbound Trade Contractors"}, {29, "Specialty Realty"},
			{30, "Transportation"}, {31, "Utility Creation and Distribution"}, {32, "Vehicle Retail"}, {33, "Wholesale"},
		},
		"customertypecode": {
			{1, "Competitor"}, {2, "Consultant"}, {3, "Customer"}, {4, "Investor"}, {5, "Partner"}, {6, "Influencer"},
			{7, "Press"}, {8, "Prospect"}, {9, "Reseller"}, {10, "Supplier"}, {11, "Vendor"}, {12, "Other"},
		},
		"leadsourcecode": {
			{1, "Advertisement"}, {2, "Employee Referral"}, {3, "External Referral"}, {4, "Partner"},
			{5, "Public Relations"}, {6, "Seminar"}, {7, "Trade Show"}, {8, "Web"}, {9, "Word of Mouth"}, {10, "Other"},
		},
		"leadqualitycode":       {{1, "Hot"}, {2, "Warm"}, {3, "Cold"}},
		"opportunityratingcode": {{1, "Hot"}, {2, "Warm"}, {3, "Cold"}},
		"caseorigincode":        {{1, "Phone"}, {2, "Email"}, {3, "Web"}, {2483, "Facebook"}, {3986, "Twitter"}, {700610000, "IoT"}},
		"casetypecode":          {{1, "Question"}, {2, "Problem"}, {3, "Request"}},
		"gendercode":            {{1, "Male"}, {2, "Female"}},
		"accountcategorycode":   {{1, "Preferred Customer"}, {2, "Standard"}},
		"teamtype":              {{0, "Owner"}, {1, "Access"}, {2, "Security Group"}, {3, "Office Group"}},
	},
	"incident":    {"prioritycode": {{1, "High"}, {2, "Normal"}, {3, "Low"}}},
	"lead":        {"prioritycode": {{1, "Default Value"}}},
	"opportunity": {"prioritycode": {{1, "Default Value"}}},
	"activity":    {"prioritycode": {{0, "Low"}, {1, "Normal"}, {2, "High"}}},
}

// booleanLabels are two-option labels that differ from Yes/No: false label, true label.
var booleanLabels = map[string][2]string{
	"directioncode": {"Incoming", "Outgoing"},
	"donotemail":    {"Allow", "Do Not Allow"},
	"donotphone":    {"Allow", "Do Not Allow"},
	"donotfax":      {"Allow", "Do Not Allow"},
	"isdisabled":    {"Enabled", "Disabled"},
}

// optionLabelFor returns the label of an option-set value (statecode, statuscode, picklists).
func optionLabelFor(e *entityInfo, attr string, v int) (string, bool) {
	switch attr {
	case "statecode":
		if s, ok := stateOf(e.Name, v); ok {
			return s.Label, true
		}
		return "", len(stateModels[e.Name]) > 0
	case "statuscode":
		for _, s := range stateModels[e.Name] {
			for _, st := range s.Statuses {
				if st.Value == v {
					return st.Label, true
				}
			}
		}
		return "", len(stateModels[e.Name]) > 0
	}
	lists := []map[string][]optionLabel{picklists[e.Name]}
	if e.Activity {
		lists = append(lists, picklists["activity"])
	}
	lists = append(lists, picklists["*"])
	for _, l := range lists {
		if opts, ok := l[attr]; ok {
			for _, o := range opts {
				if o.Value == v {
					return o.Label, true
				}
			}
			return "", true
		}
	}
	return "", false
}

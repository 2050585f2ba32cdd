package sandbox

// Word lists of the demo org: French, English and German names with accents
// and apostrophes, so escaping is exercised everywhere.

var seedCompanies = []string{
	"L'Oréal Distribution", "Müller & Söhne GmbH", "O'Brien Logistics", "Café de la Gare SARL",
	"Fabrikant Größe AG", "Northwind Traders", "Contoso Pharmaceuticals", "Bäckerei Schäfer",
	"Éditions du Château", "Adventure Works Cycles", "Brasserie Lefèvre & Fils", "Fourth Coffee",
	"Zürcher Präzisionstechnik", "Château d'Yquem Négoce", "Alpine Ski House", "Société Générale d'Électricité",
	"Wide World Importers", "Hôtel Beau-Séjour", "Kölner Stahlbau KG", "Tailspin Toys",
	"Crème & Co.", "Litware, Inc.", "Dörfler Logistik", "Les Ateliers d'Aurélie", "Proseware Ltd",
	"Blue Yonder Airlines", "Fromagerie Saint-Agur", "Weiß Elektro GmbH", "Margie's Travel", "Coho Winery",
}

var seedFirstNames = []string{
	"Amélie", "Jürgen", "Siobhán", "François", "Zoë", "Björn", "Hélène", "Patrick", "Günther", "Élodie",
	"Liam", "Renée", "Søren", "Chloé", "Matthias", "Noémie", "Conor", "Käthe", "Léa", "Oliver",
}

var seedLastNames = []string{
	"Dupont", "Schröder", "O'Connor", "Lefèvre", "Müller", "D'Angelo", "Weiß", "Bérenger", "Smith", "Köhler",
	"Fontaine", "MacLeod", "Straße", "Gauthier", "Brennan", "Jäger", "Moreau", "Hoffmann", "Ní Bhriain", "Chevalier",
}

var seedCities = []string{"Paris", "München", "Dublin", "Lyon", "Zürich", "London", "Köln", "Montréal", "Bordeaux", "Genève"}

var seedJobTitles = []string{"Purchasing Manager", "Directrice financière", "CTO", "Einkaufsleiter", "Office Manager", "Head of Operations"}

var seedLeadTopics = []string{
	"Interested in the premium plan", "Demande de devis — 50 licences", "Anfrage: Wartungsvertrag",
	"Trade show follow-up", "Renouvellement du contrat d'entretien", "Pilot for the new warehouse",
}

var seedOpportunityNames = []string{
	"Annual maintenance contract", "Extension du parc de 200 postes", "Neue Fertigungslinie",
	"Cloud migration phase 2", "Renouvellement licences 2027", "Onboarding services",
}

var seedCaseTitles = []string{
	"Invoice shows the wrong VAT rate", "Impossible de se connecter au portail", "Lieferung beschädigt angekommen",
	"Printer driver crash after update", "Demande d'avoir sur commande n°4521", "Password reset e-mail never arrives",
	"Application lente depuis la mise à jour", "Rücksendung: falscher Artikel",
}

var seedTaskSubjects = []string{
	"Send the revised proposal", "Relancer pour la signature", "Angebot nachfassen", "Prepare the QBR deck",
	"Vérifier l'adresse de livraison", "Book the on-site visit",
}

var seedCallSubjects = []string{
	"Discovery call", "Appel de suivi", "Rückruf wegen Reklamation", "Renewal discussion", "Point d'avancement",
}

var seedAppointmentSubjects = []string{
	"Product demo", "Déjeuner d'affaires", "Vor-Ort-Termin", "Quarterly business review", "Atelier de cadrage",
}

var seedLongParagraph = "Le client signale que l'écran de synthèse n'affiche plus les montants « hors taxes » depuis la dernière mise à jour. " +
	"Der Kunde berichtet außerdem, dass Exporte nach Excel gelegentlich Umlaute (ä, ö, ü, ß) verlieren. " +
	"Steps to reproduce: open the dashboard, pick the \"Q3\" filter, export; compare with the ledger. " +
	"Workaround given on the phone: use the CSV export with UTF-8 BOM. Customer's priority: high, month-end closing on Friday. "

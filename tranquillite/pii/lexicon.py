"""Word lists of the French recognisers: civilities, titles, street and venue types, acronyms,
Marseille toponyms, common first names. Lower case, without accents stripped (matching is
case-insensitive where it says so)."""

from __future__ import annotations

# civilities that introduce a person's name ("M." must be upper case: "5 m" is a length)
CIVILITIES = [
    "monsieur", "madame", "mademoiselle", "messieurs", "mesdames", "mesdemoiselles",
    "mme", "mmes", "mlle", "mlles", "melle", "mr", "mrs", "mm", "dr", "docteur", "docteure",
    "me", "maître", "maitre", "pr", "professeur", "professeure", "mgr", "monseigneur",
]

# titles and ranks: a civility or a title followed by one of these is an office, not a name
# ("M. le Maire", "Madame la Préfète", "le commissaire", "Monsieur le Préfet de Police")
TITLES = [
    "le", "la", "les", "l", "du", "de", "des", "un", "une", "et", "ou", "en", "au", "aux",
    "maire", "adjoint", "adjointe", "préfet", "préfète", "prefet", "sous-préfet", "sous-préfète",
    "commissaire", "commandant", "capitaine", "lieutenant", "brigadier", "brigadier-chef", "major",
    "gardien", "gardienne", "agent", "agente", "chef", "directeur", "directrice", "président",
    "présidente", "ministre", "procureur", "procureure", "juge", "député", "députée", "sénateur",
    "sénatrice", "conseiller", "conseillère", "délégué", "déléguée", "responsable", "gérant",
    "gérante", "propriétaire", "requérant", "requérante", "témoin", "victime", "officier",
    "général", "colonel", "contrôleur", "inspecteur", "inspectrice", "secrétaire", "directeur-adjoint",
    "vice-président", "recteur", "rectrice", "proviseur", "principal", "principale", "curé", "abbé",
    "imam", "rabbin", "pasteur", "évêque", "archevêque", "consul", "consule", "ambassadeur",
    "ambassadrice", "élu", "élue", "bâtonnier", "huissier", "notaire", "avocat", "avocate",
    "médecin", "infirmier", "infirmière", "pompier", "sapeur", "opj", "apj",
]

# types of ways: a name right after one of these (with du, de la… between) is a street name
STREET_TYPES = [
    "rue", "r", "bd", "bld", "bvd", "boulevard", "av", "ave", "avenue", "place", "pl", "cours",
    "allée", "allées", "allee", "allees", "impasse", "imp", "quai", "traverse", "trav", "tse",
    "chemin", "ch", "chem", "montée", "montee", "square", "sq", "esplanade", "rond-point", "route",
    "rte", "passage", "parvis", "promenade", "corniche", "cité", "cite", "résidence", "residence",
    "rés", "res", "lotissement", "domaine", "hameau", "carrefour", "pont", "port", "plage", "anse",
    "jardin", "jardins", "parc", "vallon", "calanque", "col", "colline", "plateau", "faubourg",
    "voie", "sentier", "escalier", "escaliers", "descente", "rampe", "digue", "môle", "mole",
    "bretelle", "échangeur", "tunnel", "viaduc", "cimetière", "lieu-dit", "ruelle", "venelle",
    "quartier", "zone", "zac", "za", "zi", "clos", "mas", "carré", "carre", "littoral", "campagne",
    "autoroute", "entrée", "entree", "accès", "acces", "sortie", "val", "enclos", "placette", "cour",
    "hlm", "ensemble", "village", "gibbes", "vallée", "berge", "berges", "belvédère", "terrasse",
    "terrasses", "cap", "batterie", "quartiers", "lot", "îlot", "ilot", "bd.", "ave.", "av.",
]
# types of venues and institutions named after people ("lycée Thiers", "stade Pierre Delort")
VENUE_TYPES = [
    "lycée", "lycee", "collège", "college", "école", "ecole", "groupe scolaire", "maternelle",
    "stade", "gymnase", "piscine", "palais", "théâtre", "theatre", "salle", "espace", "centre",
    "centre social", "maison", "hôpital", "hopital", "clinique", "musée", "musee", "bibliothèque",
    "médiathèque", "mediatheque", "église", "eglise", "mosquée", "cathédrale", "basilique",
    "chapelle", "temple", "synagogue", "halle", "halles", "marché", "marche", "gare", "station",
    "métro", "metro", "tram", "tramway", "arrêt", "arret", "terminus", "parking", "cinéma",
    "cinema", "fondation", "institut", "université", "universite", "faculté", "fac", "campus",
    "caserne", "mairie", "commissariat", "hôtel", "hotel", "foyer", "ehpad", "crèche", "creche",
    "complexe", "boulodrome", "skatepark", "dôme", "dome", "fort", "tour", "bastide", "château",
    "chateau", "villa", "immeuble", "bâtiment", "batiment", "bât", "bat", "tour", "lycée professionnel",
    "cité scolaire", "auditorium", "conservatoire", "opéra", "opera", "arena", "vélodrome",
    "velodrome", "hippodrome", "base nautique", "club", "bar", "brasserie", "restaurant", "café",
    "cafe", "snack", "pharmacie", "boulangerie", "tabac", "supermarché", "magasin", "boutique",
    "centre commercial", "pôle", "pole", "association", "agence", "bureau", "poste", "résidence",
    "rond point", "square", "salon", "festival", "syndic", "société", "societe", "entreprise", "bailleur",
    "enseigne", "cabinet", "banque", "assurance", "assurances", "compagnie", "groupe", "collectif", "tournoi", "trophée", "trophee", "challenge",
    "prix", "coupe", "mémorial", "memorial", "navette", "ligne", "bus", "quai", "porte", "statue", "monument", "fontaine",
]
# words of a street or venue name between its type and the person's name ("rue du Docteur Escat")
STREET_LINKS = [
    "du", "de", "des", "de la", "de l", "d", "le", "la", "les", "l", "saint", "sainte", "st", "ste",
    "docteur", "dr", "général", "gal", "maréchal", "mal", "commandant", "cdt", "capitaine", "cne",
    "colonel", "col", "lieutenant", "lt", "professeur", "pr", "président", "pdt", "abbé", "père",
    "frère", "sœur", "soeur", "mère", "monseigneur", "mgr", "cardinal", "pape", "roi", "reine",
    "comte", "duc", "marquis", "baron", "amiral", "ingénieur", "aviateur", "poète", "sergent",
    "adjudant", "caporal", "soldat", "commissaire", "chanoine", "juge", "maître", "me", "madame",
    "monsieur", "mademoiselle", "sainte-", "saint-", "quatre", "trois", "deux", "à", "au", "aux", "dite",
    "dit", "numéro", "n°", "en", "sur", "sous", "lès", "lez",
]

# acronyms that are not names (services, units, places, organisations)
ACRONYMS = {
    "RTM", "SAMU", "SMUR", "BMPM", "SDIS", "CRS", "BAC", "OPJ", "APJ", "PSQ", "QRR", "CODAF", "MIN",
    "CSU", "PM", "PN", "GN", "SNCF", "TGV", "TER", "CHU", "APHM", "AP-HM", "OM", "PSG", "EDF", "GDF",
    "ERDF", "ENEDIS", "GRDF", "RATP", "CAF", "CPAM", "URSSAF", "DGSEC", "DGANSI", "DPO", "CNIL",
    "SIV", "FNI", "PV", "RAS", "SDF", "VL", "PL", "VTC", "VTT", "TPMR", "PMR", "HLM", "ZAC", "ZUP",
    "QPV", "ANRU", "MJC", "CCAS", "CMP", "EHPAD", "ESAT", "ASE", "PJJ", "SPIP", "TGI", "TJ", "JAF",
    "GAV", "IPM", "ITT", "UMJ", "BPM", "BRI", "BRB", "GIGN", "RAID", "BST", "UMP", "PS", "LFI", "RN",
    "CGT", "CFDT", "FO", "FSU", "SUD", "UNSA", "CNT", "FNSEA", "ONU", "UE", "USA", "GPS", "SMS", "MMS",
    "URGENT", "ATTENTION", "NB", "OK", "KO", "RDV", "DDN", "NIR", "IBAN", "RIB", "BIC", "CNI",
    "ID", "TEL", "FAX", "MAIL", "ADRESSE", "NOM", "PRENOM", "PRÉNOM", "SIRET", "SIREN", "TVA", "KM",
    "BD", "AV", "RUE", "RD", "A7", "A50", "A55", "L2", "CMA", "CGM", "CMA-CGM", "MUCEM", "FRAC",
    "IUT", "IUFM", "INSERM", "CNRS", "CEA", "AMU", "ESPE", "INSPE", "DRH", "DGS", "DGA", "DGST",
    "CSE", "CHSCT", "NRJ", "RMC", "BFM", "TF1", "FR3", "M6", "ZAD", "AG", "CA", "CE", "RSA", "APL",
    "AAH", "ALLO", "ALLÔ", "FM", "MDPH", "PMI", "CMU", "AME", "OQTF", "ASVP", "CCTV", "PTZ", "DAB",
    "GAB", "WC", "TAG", "TAGS", "LED", "USB", "ADN", "SOS", "SPA", "JO", "HT", "TTC", "SA", "SAS",
    "SARL", "SCI", "EURL", "ONG", "AOC", "BTP", "EPS", "CM", "CP", "CE1", "CE2", "CM1", "CM2",
    "STOP", "INFO", "INFOS", "POLICE", "MAIRIE", "VILLE", "MARSEILLE", "FRANCE", "NORD", "EST",
    "OUEST", "CENTRE", "NEANT", "NÉANT", "VOIR", "IDEM", "SANS", "SUITE", "FIN", "DEBUT", "DÉBUT",
}

# Marseille places that are also, or look like, people's names (quarters, metro stations, landmarks)
TOPONYMS = {
    "castellane", "noailles", "belsunce", "joliette", "prado", "canebière", "canebiere", "timone",
    "baille", "mazargues", "estaque", "panier", "pharo", "borély", "borely", "vélodrome",
    "velodrome", "endoume", "malpassé", "malpasse", "frais-vallon", "chartreux", "capelette",
    "sainte-marguerite", "saint-just", "saint-charles", "réformés", "reformes", "cinq-avenues",
    "blancarde", "vieux-port", "longchamp", "la plaine", "plaine", "cours julien", "julien",
    "jean jaurès", "jean jaures", "jaurès", "jaures", "michelet", "jules guesde", "gambetta",
    "garibaldi", "bougainville", "félix pyat", "felix pyat", "louis armand", "national",
    "périer", "perier", "rond-point du prado", "sainte-anne", "saint-barnabé", "saint-loup",
    "saint-antoine", "saint-louis", "saint-henri", "saint-mauront", "saint-lazare", "saint-victor",
    "saint-giniez", "saint-tronc", "saint-marcel", "saint-menet", "saint-jérôme", "la rose",
    "la pomme", "la valentine", "la belle de mai", "belle de mai", "la busserine", "busserine",
    "la castellane", "la savine", "la bricarde", "la solidarité", "les lauriers", "lauriers",
    "les flamants", "flamants", "le merlan", "merlan", "la viste", "la cabucelle", "la calade",
    "bonneveine", "pointe-rouge", "la pointe rouge", "les goudes", "goudes", "callelongue",
    "luminy", "le redon", "vauban", "notre-dame de la garde", "bonne mère", "la bonne mère",
    "sormiou", "morgiou", "sugiton", "chanot", "rabatau", "menpenti", "thiers", "dugommier",
    "désirée clary", "desiree clary", "arenc", "euroméditerranée", "les docks", "la friche",
    "les catalans", "catalans", "le roucas", "roucas blanc", "les crottes", "la delorme",
    "la joliette", "sainte-marthe", "château-gombert", "chateau-gombert", "les olives",
    "la fourragère", "fourragère", "capitaine gèze", "bouge", "la timone", "la conception",
    "hôpital nord", "la criée", "mucem", "le silo", "le dôme", "dôme", "l'alcazar", "alcazar",
    "marseille", "aix-en-provence", "aubagne", "la ciotat", "vitrolles", "marignane", "toulon",
    "allauch", "plan-de-cuques", "septèmes-les-vallons", "cassis", "provence", "paca",
}

# first names frequent in France (to tell "DUPONT Jean" from "SAMU Social"); lower case
FIRST_NAMES = set("""
jean pierre michel andré philippe louis alain jacques bernard marcel daniel roger claude paul
robert christian rené henri patrick nicolas thomas julien david christophe stéphane laurent
sébastien frédéric olivier éric eric pascal thierry franck françois gérard dominique serge
patrice didier bruno jérôme vincent antoine alexandre maxime kevin kévin romain guillaume
florian anthony mathieu matthieu benjamin adrien quentin lucas hugo théo enzo nathan mathis
louis léo gabriel raphaël arthur jules adam mohamed mohammed ahmed karim mehdi samir nabil
rachid sofiane yassine bilal ilyes amine hamza youssef omar ali moussa ibrahim mamadou ousmane
abdel abdelkader farid kamel malik nordine rayan ryan walid yanis anis sami hakim djamel mourad
marie jeanne françoise monique catherine nathalie isabelle sylvie martine christine anne
nicole sandrine valérie sophie céline stéphanie véronique sabrina laetitia aurélie julie
camille laura sarah emma léa chloé manon inès lina jade louise alice lucie clara océane
pauline marine audrey mélanie émilie caroline virginie elodie élodie karine corinne brigitte
chantal josiane michèle danielle annie christiane jacqueline madeleine simone denise suzanne
fatima fatiha khadija aïcha aicha samira nadia leila leïla yasmina amina malika karima naima
sonia myriam meriem nour sara yasmine salma zohra rachida houria djamila farida hafida
jennifer jessica vanessa cynthia mélissa melissa morgane anaïs justine margaux charlotte
agathe juliette zoé romane ambre rose anna eva mia nina léna elsa maëlys maelys noémie
gaël gael yann yannick loïc loic cédric cedric fabrice arnaud jérémy jeremy jonathan
mickaël michael grégory gregory ludovic lionel hervé herve gilles joël joel marc luc yves
georges raymond gilbert albert lucien maurice fernand émile emile victor joseph charles
jean-pierre jean-claude jean-luc jean-marc jean-paul jean-michel jean-françois jean-louis
jean-jacques jean-philippe marie-claude marie-christine marie-france anne-marie marie-thérèse
""".split())

"""Amazon marketplaces: shared by the data migration and the test factories."""

# code, marketplace id, Amazon country code, region, name, currency, supported (the 13 supported first)
MARKETPLACES = [
    # code, marketplace id, Amazon country code, region, name, currency, supported
    ("US", "ATVPDKIKX0DER", "US", "NA", "United States", "USD", True),
    ("CA", "A2EUQ1WTGCTBG2", "CA", "NA", "Canada", "CAD", True),
    ("MX", "A1AM78C64UM0Y8", "MX", "NA", "Mexico", "MXN", True),
    ("UK", "A1F83G8C2ARO7P", "GB", "EU", "United Kingdom", "GBP", True),
    ("DE", "A1PA6795UKMFR9", "DE", "EU", "Germany", "EUR", True),
    ("FR", "A13V1IB3VIYZZH", "FR", "EU", "France", "EUR", True),
    ("IT", "APJ6JRA9NG5V4", "IT", "EU", "Italy", "EUR", True),
    ("ES", "A1RKKUPIHCS9HS", "ES", "EU", "Spain", "EUR", True),
    ("NL", "A1805IZSGTT6HS", "NL", "EU", "Netherlands", "EUR", True),
    ("SE", "A2NODRKZP88ZB9", "SE", "EU", "Sweden", "SEK", True),
    ("PL", "A1C3SOZRARQ6R3", "PL", "EU", "Poland", "PLN", True),
    ("JP", "A1VC38T7YXB528", "JP", "FE", "Japan", "JPY", True),
    ("AU", "A39IBJ37TRP1C6", "AU", "FE", "Australia", "AUD", True),
    ("BR", "A2Q3Y263D00KWC", "BR", "NA", "Brazil", "BRL", False),
    ("BE", "AMEN7PMS3EDWL", "BE", "EU", "Belgium", "EUR", False),
    ("IE", "A28R8C7NBKEWEA", "IE", "EU", "Ireland", "EUR", False),
    ("TR", "A33AVAJ2PDY3EV", "TR", "EU", "Turkey", "TRY", False),
    ("AE", "A2VIGQ35RCS4UG", "AE", "EU", "United Arab Emirates", "AED", False),
    ("SA", "A17E79C6D8DWNP", "SA", "EU", "Saudi Arabia", "SAR", False),
    ("EG", "ARBP9OOSHTCHU", "EG", "EU", "Egypt", "EGP", False),
    ("IN", "A21TJRUUN4KGV", "IN", "EU", "India", "INR", False),
    ("SG", "A19VAU5U5O7RUS", "SG", "FE", "Singapore", "SGD", False),
    ("ZA", "AE08WJ6YKNBMC", "ZA", "EU", "South Africa", "ZAR", False),
]

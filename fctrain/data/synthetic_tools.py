"""The tool catalogue behind `fctrain.data.synthetic`: tool families, their schemas and request phrasings.

Each `ToolSpec` knows its JSON-Schema parameters, how to draw argument values, and several phrasings.
A phrasing is (text with {param} slots, fixed arguments): the arguments of a request are the fixed ones plus
every parameter whose slot the text mentions, so optional parameters appear exactly when the user asks
for them. A slot shows `say_<param>` when the sampler sets one (e.g. "March 3, 2025" for "2025-03-03",
"euros" for "EUR"), which is what makes the tasks more than copying.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
CITIES = ["Paris", "Tokyo", "New York", "London", "Berlin", "Madrid", "Toronto", "Sydney", "Cairo", "Mumbai",
          "São Paulo", "Seoul", "Mexico City", "Istanbul", "Nairobi", "Oslo", "Lisbon", "Bangkok", "Chicago",
          "Zürich", "Buenos Aires", "Singapore", "Dublin", "Vienna", "Kraków", "Reykjavík"]
CURRENCIES = {"USD": "US dollars", "EUR": "euros", "GBP": "British pounds", "JPY": "Japanese yen",
              "CHF": "Swiss francs", "CAD": "Canadian dollars", "AUD": "Australian dollars", "INR": "Indian rupees",
              "BRL": "Brazilian reais", "KRW": "South Korean won", "MXN": "Mexican pesos", "SEK": "Swedish kronor"}
AIRPORTS = {"JFK": "New York", "LHR": "London", "CDG": "Paris", "HND": "Tokyo", "SFO": "San Francisco",
            "FRA": "Frankfurt", "DXB": "Dubai", "SIN": "Singapore", "SYD": "Sydney", "MAD": "Madrid",
            "YYZ": "Toronto", "GRU": "São Paulo", "AMS": "Amsterdam", "ORD": "Chicago"}
STOCKS = {"AAPL": "Apple", "MSFT": "Microsoft", "GOOGL": "Alphabet", "AMZN": "Amazon", "TSLA": "Tesla",
          "NVDA": "Nvidia", "META": "Meta", "NFLX": "Netflix", "IBM": "IBM", "INTC": "Intel", "KO": "Coca-Cola"}
COINS = {"bitcoin": "BTC", "ethereum": "ETH", "solana": "SOL", "cardano": "ADA", "dogecoin": "DOGE"}
LANGUAGES = {"fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "ja": "Japanese", "pt": "Portuguese",
             "ko": "Korean", "nl": "Dutch", "sv": "Swedish", "tr": "Turkish", "en": "English"}
PHRASES = ["Where is the train station?", "Thank you for your help", "I would like a coffee, please",
           "The meeting starts at noon", "Happy birthday!", "How much does this cost?", "Good morning, everyone",
           "My flight has been delayed", "Can you recommend a good restaurant?", "See you tomorrow"]
CUISINES = ["Italian", "Japanese", "Mexican", "Indian", "Thai", "vegan", "French", "Ethiopian", "Korean", "Greek"]
INGREDIENTS = ["chicken", "rice", "spinach", "tomatoes", "garlic", "mushrooms", "tofu", "eggs", "lentils",
               "salmon", "potatoes", "chickpeas", "basil", "lemon", "onions", "cheese"]
SONGS = [("Bohemian Rhapsody", "Queen"), ("Imagine", "John Lennon"), ("Hey Jude", "The Beatles"),
         ("Rolling in the Deep", "Adele"), ("Clocks", "Coldplay"), ("Dancing Queen", "ABBA"),
         ("Smooth Criminal", "Michael Jackson"), ("Shape of You", "Ed Sheeran"), ("Jolene", "Dolly Parton"),
         ("Hallelujah", "Leonard Cohen"), ("Africa", "Toto"), ("Wonderwall", "Oasis"), ("Halo", "Beyoncé"),
         ("Take Five", "Dave Brubeck"), ("La Vie en rose", "Édith Piaf"), ("Respect", "Aretha Franklin"),
         ("Yesterday", "The Beatles"), ("Purple Rain", "Prince"), ("Despacito", "Luis Fonsi")]
TEAMS = ["Real Madrid", "Liverpool", "Bayern Munich", "Boca Juniors", "Juventus", "Ajax", "Celtic", "Benfica",
         "Arsenal", "Napoli", "Porto", "Galatasaray", "Flamengo", "Borussia Dortmund", "Sevilla", "Feyenoord"]
LEAGUES = ["premier_league", "la_liga", "bundesliga", "serie_a", "ligue_1"]
LEAGUE_NAMES = {"premier_league": "Premier League", "la_liga": "La Liga", "bundesliga": "Bundesliga",
                "serie_a": "Serie A", "ligue_1": "Ligue 1"}
MOVIES = ["Dune: Part Two", "Oppenheimer", "Inside Out 2", "The Matrix", "Spirited Away", "Barbie", "Interstellar"]
COUNTRIES = ["Brazil", "Japan", "Kenya", "Canada", "Germany", "India", "Norway", "Peru", "Vietnam", "Egypt",
             "Chile", "Ghana", "Poland", "Thailand", "Morocco", "New Zealand", "Portugal", "Indonesia", "Ireland"]
TIMEZONES = {"Asia/Tokyo": "Tokyo", "Europe/London": "London", "America/New_York": "New York",
             "Australia/Sydney": "Sydney", "Europe/Berlin": "Berlin", "America/Los_Angeles": "Los Angeles",
             "Asia/Kolkata": "Mumbai", "Europe/Madrid": "Madrid", "America/Sao_Paulo": "São Paulo",
             "Africa/Nairobi": "Nairobi", "Asia/Singapore": "Singapore", "America/Chicago": "Chicago",
             "Europe/Istanbul": "Istanbul", "Asia/Seoul": "Seoul", "America/Mexico_City": "Mexico City"}
WORDS = ["serendipity", "ephemeral", "ubiquitous", "melancholy", "quixotic", "resilience", "gregarious", "lucid",
         "laconic", "ineffable", "petrichor", "sonder", "obfuscate", "halcyon", "pragmatic", "vicarious", "zeitgeist",
         "juxtapose", "candor", "esoteric", "benevolent", "wanderlust", "meticulous", "nostalgia"]
NAMES = ["alice", "bob", "carmen", "dmitri", "esther", "farid", "grace", "hiro", "ines", "jonas"]
ROOMS = ["living room", "kitchen", "bedroom", "office", "bathroom", "garage"]
TOPICS = ["technology", "sports", "science", "business", "health", "climate", "space exploration", "elections"]
UNITS = [("kilometers", "miles"), ("miles", "kilometers"), ("pounds", "kilograms"), ("kilograms", "pounds"),
         ("celsius", "fahrenheit"), ("fahrenheit", "celsius"), ("liters", "gallons"), ("feet", "meters"),
         ("inches", "centimeters"), ("ounces", "grams")]
EVENTS = ["Team sync", "Dentist appointment", "Lunch with Maria", "Project review", "Yoga class",
          "Call with the bank", "Quarterly planning", "Parent-teacher meeting"]
CARRIERS = ["ups", "fedex", "dhl", "usps"]
REMINDERS = ["take out the trash", "call mom", "water the plants", "submit the expense report", "buy milk",
             "renew my passport", "pick up the dry cleaning"]
SEARCH_QUERIES = ["history of the printing press", "how do vaccines work", "Marie Curie", "the Great Barrier Reef",
                  "origin of the Olympic Games", "black holes", "the Silk Road", "Ada Lovelace", "plate tectonics",
                  "the Roman aqueducts", "the Apollo 11 mission", "the Ottoman Empire", "CRISPR", "the Amazon rainforest",
                  "Alan Turing", "the Renaissance", "quantum entanglement", "the Maya calendar"]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    family: str
    description: str
    params: dict[str, dict]  # JSON-Schema properties
    required: tuple[str, ...]
    capability: str  # completes "none of the available tools can ..." (irrelevance replies)
    phrasings: tuple[tuple[str, dict], ...]
    sample: Callable[[random.Random], dict[str, Any]]

    def schema(self) -> dict:
        return {"name": self.name, "description": self.description,
                "parameters": {"type": "object", "properties": self.params, "required": list(self.required)}}


def s(description: str, **extra: Any) -> dict:
    return {"type": "string", "description": description, **extra}


def n(description: str, kind: str = "number", **extra: Any) -> dict:
    return {"type": kind, "description": description, **extra}


def b(description: str) -> dict:
    return {"type": "boolean", "description": description}


def arr(description: str, item_type: str) -> dict:
    return {"type": "array", "items": {"type": item_type}, "description": description}


def _date(rng: random.Random) -> tuple[str, str]:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    iso = f"2025-{month:02d}-{day:02d}"
    return iso, rng.choice([iso, f"{MONTHS[month - 1]} {day}, 2025", f"{day} {MONTHS[month - 1]} 2025"])


def _time(rng: random.Random) -> tuple[str, str]:
    hour, minute = rng.randint(7, 20), rng.choice([0, 15, 30, 45])
    hh = f"{hour:02d}:{minute:02d}"
    twelve = f"{(hour - 1) % 12 + 1}:{minute:02d} {'am' if hour < 12 else 'pm'}"
    return hh, rng.choice([hh, twelve])


def _money(rng: random.Random) -> float:
    return float(rng.choice([rng.randint(5, 500), rng.randint(10, 5000), round(rng.uniform(1, 300), 2)]))


def _pick(mapping: dict, rng: random.Random, exclude: Any = None) -> Any:
    return rng.choice([k for k in mapping if k != exclude])


# ---------------------------------------------------------------- samplers


def weather(rng):
    return {"city": rng.choice(CITIES), "unit": rng.choice(["celsius", "fahrenheit"]), "days": rng.randint(2, 10)}


def currency(rng):
    base = _pick(CURRENCIES, rng)
    target = _pick(CURRENCIES, rng, exclude=base)
    amount = _money(rng)
    return {"amount": amount, "say_amount": f"{amount:g}", "from_currency": base, "to_currency": target,
            "say_from_currency": rng.choice([base, CURRENCIES[base]]),
            "say_to_currency": rng.choice([target, CURRENCIES[target]])}


def exchange(rng):
    pair = currency(rng)
    return {"base": pair["from_currency"], "target": pair["to_currency"],
            "say_base": pair["say_from_currency"], "say_target": pair["say_to_currency"]}


def flights(rng):
    origin = _pick(AIRPORTS, rng)
    destination = _pick(AIRPORTS, rng, exclude=origin)
    date, say_date = _date(rng)
    return {"origin": origin, "destination": destination, "date": date, "say_date": say_date,
            "cabin": rng.choice(["economy", "premium_economy", "business", "first"]), "passengers": rng.randint(2, 5),
            "say_origin": rng.choice([origin, f"{AIRPORTS[origin]} ({origin})"]),
            "say_destination": rng.choice([destination, f"{AIRPORTS[destination]} ({destination})"])}


def hotels(rng):
    date, say_date = _date(rng)
    return {"city": rng.choice(CITIES), "check_in": date, "say_check_in": say_date, "nights": rng.randint(1, 9),
            "guests": rng.randint(1, 4), "max_price": float(rng.choice([80, 120, 150, 200, 300]))}


def interest(rng):
    return {"principal": float(rng.choice([1000, 2500, 5000, 10000, 25000])), "rate": rng.choice([1.5, 2, 3.5, 4, 5.25, 7]),
            "years": rng.randint(1, 30), "compounds_per_year": rng.choice([1, 4, 12, 365])}


def numbers(rng):
    values = [rng.choice([rng.randint(1, 100), round(rng.uniform(0, 50), 1)]) for _ in range(rng.randint(3, 6))]
    return {"numbers": values, "say_numbers": _join([f"{v:g}" for v in values])}


def calendar(rng):
    date, say_date = _date(rng)
    time, say_time = _time(rng)
    return {"title": rng.choice(EVENTS), "date": date, "say_date": say_date, "start_time": time, "say_start_time": say_time,
            "duration_minutes": rng.choice([15, 30, 45, 60, 90])}


def units(rng):
    src, dst = rng.choice(UNITS)
    value = rng.choice([rng.randint(1, 300), round(rng.uniform(0.5, 100), 1)])
    return {"value": float(value), "say_value": f"{value:g}", "from_unit": src, "to_unit": dst}


def stocks(rng):
    symbol = _pick(STOCKS, rng)
    return {"symbol": symbol, "say_symbol": rng.choice([symbol, STOCKS[symbol]]), "limit": rng.randint(3, 10)}


def translate(rng):
    target = _pick(LANGUAGES, rng, exclude="en")
    return {"text": rng.choice(PHRASES), "target_language": target, "say_target_language": LANGUAGES[target],
            "source_language": "en", "say_source_language": "English"}


def email(rng):
    who = rng.choice(NAMES)
    subject = rng.choice(["Quarterly report", "Dinner on Friday", "Invoice 4821", "Trip itinerary", "Welcome aboard"])
    body = rng.choice(["I'll be ten minutes late.", "Please find the numbers attached.", "Thanks again for everything!",
                       "Can we move our call to Thursday?"])
    return {"to": f"{who}@example.com", "subject": subject, "body": body}


def reminder(rng):
    time, say_time = _time(rng)
    return {"message": rng.choice(REMINDERS), "time": time, "say_time": say_time}


def clock(rng):
    zone = _pick(TIMEZONES, rng)
    return {"timezone": zone, "say_timezone": rng.choice([zone, TIMEZONES[zone]])}


def restaurants(rng):
    return {"city": rng.choice(CITIES), "cuisine": rng.choice(CUISINES)}


def recipes(rng):
    chosen = rng.sample(INGREDIENTS, rng.randint(2, 4))
    return {"ingredients": chosen, "say_ingredients": _join(chosen), "max_minutes": rng.choice([15, 20, 30, 45, 60])}


def music(rng):
    title, artist = rng.choice(SONGS)
    return {"title": title, "artist": artist}


def news(rng):
    return {"topic": rng.choice(TOPICS), "country": rng.choice(["us", "gb", "de", "fr", "in", "jp"]),
            "limit": rng.randint(3, 10)}


def words(rng):
    return {"word": rng.choice(WORDS), "language": "en"}


def package(rng):
    carrier = rng.choice(CARRIERS)
    number = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(10, 14)))
    return {"tracking_number": number, "carrier": carrier, "say_carrier": carrier.upper()}


def bmi(rng):
    return {"weight_kg": float(rng.randint(45, 120)), "height_m": round(rng.uniform(1.5, 2.0), 2)}


def tip(rng):
    bill = round(rng.uniform(12, 240), 2)
    return {"bill_amount": bill, "say_bill_amount": f"{bill:.2f}", "tip_percent": float(rng.choice([10, 12, 15, 18, 20, 25])),
            "split_between": rng.randint(2, 6)}


def movies(rng):
    date, say_date = _date(rng)
    return {"movie": rng.choice(MOVIES), "city": rng.choice(CITIES), "date": date, "say_date": say_date}


def sports(rng):
    league = rng.choice(LEAGUES)
    return {"team": rng.choice(TEAMS), "league": league, "say_league": LEAGUE_NAMES[league], "season": rng.choice([2022, 2023, 2024])}


def crypto(rng):
    coin = _pick(COINS, rng)
    fiat = rng.choice(["USD", "EUR", "GBP", "JPY"])
    return {"coin": coin, "say_coin": rng.choice([coin, COINS[coin]]), "currency": fiat,
            "say_currency": rng.choice([fiat, CURRENCIES[fiat]])}


def timer(rng):
    return {"minutes": rng.choice([1, 3, 5, 10, 12, 15, 20, 25, 45]), "label": rng.choice(["pasta", "tea", "laundry", "workout", "nap"])}


def home(rng):
    return {"room": rng.choice(ROOMS), "temperature": float(rng.randint(17, 25)),
            "brightness": rng.choice([10, 25, 50, 75, 100])}


def directions(rng):
    origin, destination = rng.sample(["the airport", "Central Station", "the museum", "City Hall", "the harbour",
                                      "the university", "the stadium", "Main Street 12"], 2)
    return {"origin": origin, "destination": destination, "mode": rng.choice(["driving", "walking", "bicycling", "transit"])}


def password(rng):
    return {"length": rng.choice([8, 12, 16, 20, 24, 32])}


def integer(rng):
    return {"number": rng.choice([rng.randint(2, 200), rng.randint(1000, 99999)])}


def loan(rng):
    return {"principal": float(rng.choice([5000, 15000, 30000, 250000, 400000])),
            "annual_rate": rng.choice([3.5, 4.25, 5, 6.1, 7.5]), "years": rng.choice([3, 5, 10, 15, 30])}


def wiki(rng):
    return {"query": rng.choice(SEARCH_QUERIES), "sentences": rng.randint(2, 5)}


def population(rng):
    return {"country": rng.choice(COUNTRIES), "year": rng.choice([2000, 2010, 2015, 2020])}


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- catalogue

UNIT_ENUM = sorted({u for pair in UNITS for u in pair})

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("get_current_weather", "weather", "Get the current weather conditions for a city.",
             {"city": s("City name, e.g. 'Paris'."),
              "unit": s("Temperature unit.", enum=["celsius", "fahrenheit"])}, ("city",), "look up the weather",
             (("What's the weather like in {city} right now?", {}), ("Is it raining in {city} at the moment?", {}),
              ("Tell me the current temperature in {city} in {unit}.", {}), ("How warm is it in {city} today?", {})),
             weather),
    ToolSpec("get_weather_forecast", "weather", "Get a multi-day weather forecast for a city.",
             {"city": s("City name."), "days": n("Number of days to forecast (1-14).", "integer"),
              "unit": s("Temperature unit.", enum=["celsius", "fahrenheit"])}, ("city", "days"),
             "get a weather forecast",
             (("Give me the {days}-day forecast for {city}.", {}),
              ("What will the weather be in {city} over the next {days} days, in {unit}?", {}),
              ("I'm travelling to {city}; forecast for the coming {days} days please.", {})), weather),
    ToolSpec("convert_currency", "currency", "Convert an amount of money from one currency to another.",
             {"amount": n("Amount to convert."), "from_currency": s("ISO 4217 code of the source currency, e.g. 'USD'."),
              "to_currency": s("ISO 4217 code of the target currency.")}, ("amount", "from_currency", "to_currency"),
             "convert currencies",
             (("Convert {amount} {from_currency} to {to_currency}.", {}),
              ("How much is {amount} {from_currency} in {to_currency}?", {}),
              ("I have {amount} {from_currency}; what is that worth in {to_currency}?", {})), currency),
    ToolSpec("get_exchange_rate", "currency", "Get the current exchange rate between two currencies.",
             {"base": s("ISO 4217 code of the base currency."), "target": s("ISO 4217 code of the quote currency.")},
             ("base", "target"), "look up exchange rates",
             (("What's the exchange rate from {base} to {target}?", {}), ("How many {target} do I get for one {base}?", {})),
             exchange),
    ToolSpec("search_flights", "travel", "Search for flights between two airports on a given date.",
             {"origin": s("IATA code of the departure airport, e.g. 'JFK'."), "destination": s("IATA code of the arrival airport."),
              "date": s("Departure date, YYYY-MM-DD."), "nonstop": b("Only return nonstop flights."),
              "cabin": s("Cabin class.", enum=["economy", "premium_economy", "business", "first"]),
              "passengers": n("Number of passengers.", "integer")}, ("origin", "destination", "date"), "search for flights",
             (("Find flights from {origin} to {destination} on {date}.", {}),
              ("I need a nonstop flight from {origin} to {destination} on {date}.", {"nonstop": True}),
              ("Search {cabin} flights from {origin} to {destination} departing {date}.", {}),
              ("Are there flights from {origin} to {destination} on {date} for {passengers} passengers?", {})), flights),
    ToolSpec("search_hotels", "travel", "Find available hotels in a city.",
             {"city": s("City name."), "check_in": s("Check-in date, YYYY-MM-DD."), "nights": n("Number of nights.", "integer"),
              "guests": n("Number of guests.", "integer"), "max_price": n("Maximum price per night in USD.")},
             ("city", "check_in", "nights"), "find hotels",
             (("Find me a hotel in {city} from {check_in} for {nights} nights.", {}),
              ("I need a room in {city} for {guests} guests, checking in {check_in}, {nights} nights.", {}),
              ("Hotels in {city}, check-in {check_in}, {nights} nights, under {max_price} dollars a night.", {})), hotels),
    ToolSpec("calculate_compound_interest", "finance", "Calculate the future value of an investment with compound interest.",
             {"principal": n("Initial amount."), "rate": n("Annual interest rate in percent."),
              "years": n("Number of years.", "integer"), "compounds_per_year": n("Compounding periods per year.", "integer")},
             ("principal", "rate", "years"), "calculate compound interest",
             (("If I invest {principal} at {rate}% for {years} years, how much will I have?", {}),
              ("Compound interest on {principal} at {rate} percent over {years} years, compounded {compounds_per_year} times a year.", {})),
             interest),
    ToolSpec("calculate_loan_payment", "finance", "Calculate the monthly payment of a fixed-rate loan.",
             {"principal": n("Loan amount."), "annual_rate": n("Annual interest rate in percent."),
              "years": n("Loan term in years.", "integer")}, ("principal", "annual_rate", "years"),
             "calculate loan payments",
             (("What's the monthly payment on a {principal} loan at {annual_rate}% over {years} years?", {}),
              ("Mortgage of {principal}, {years} years, {annual_rate} percent interest: monthly cost?", {})), loan),
    ToolSpec("compute_statistics", "math", "Compute the mean, median and standard deviation of a list of numbers.",
             {"numbers": arr("The numbers.", "number"), "round_to": n("Decimal places to round to.", "integer")},
             ("numbers",), "compute statistics",
             (("What's the average of {numbers}?", {}), ("Give me the mean and median of {numbers}.", {}),
              ("Compute statistics for these values: {numbers}.", {})), numbers),
    ToolSpec("is_prime", "math", "Check whether an integer is a prime number.",
             {"number": n("The integer to check.", "integer")}, ("number",), "check prime numbers",
             (("Is {number} a prime number?", {}), ("Check if {number} is prime.", {})), integer),
    ToolSpec("create_calendar_event", "calendar", "Create an event in the user's calendar.",
             {"title": s("Event title."), "date": s("Date, YYYY-MM-DD."), "start_time": s("Start time, HH:MM (24h)."),
              "duration_minutes": n("Duration in minutes.", "integer")}, ("title", "date", "start_time"),
             "create calendar events",
             (("Add '{title}' to my calendar on {date} at {start_time}.", {}),
              ("Schedule {title} for {date} at {start_time}, {duration_minutes} minutes long.", {}),
              ("Put a {duration_minutes}-minute event called '{title}' on {date} starting {start_time}.", {})), calendar),
    ToolSpec("set_reminder", "calendar", "Set a reminder that notifies the user at a given time today.",
             {"message": s("What to remind the user about."), "time": s("Time of day, HH:MM (24h).")},
             ("message", "time"), "set reminders",
             (("Remind me to {message} at {time}.", {}), ("At {time}, remind me to {message}.", {})), reminder),
    ToolSpec("convert_units", "units", "Convert a value between units of measurement.",
             {"value": n("The value to convert."), "from_unit": s("Unit to convert from.", enum=UNIT_ENUM),
              "to_unit": s("Unit to convert to.", enum=UNIT_ENUM)}, ("value", "from_unit", "to_unit"), "convert units",
             (("Convert {value} {from_unit} to {to_unit}.", {}), ("How many {to_unit} is {value} {from_unit}?", {}),
              ("What is {value} {from_unit} in {to_unit}?", {})), units),
    ToolSpec("get_stock_price", "stocks", "Get the latest trading price of a stock by its ticker symbol.",
             {"symbol": s("Ticker symbol, e.g. 'AAPL'.")}, ("symbol",), "look up stock prices",
             (("What's the stock price of {symbol}?", {}), ("How is {symbol} trading right now?", {}),
              ("Get me the latest share price for {symbol}.", {})), stocks),
    ToolSpec("get_company_news", "stocks", "Get recent news articles about a listed company.",
             {"symbol": s("Ticker symbol."), "limit": n("Maximum number of articles.", "integer")}, ("symbol",),
             "fetch company news",
             (("Any recent news about {symbol}?", {}), ("Show me the latest {limit} headlines about {symbol}.", {})), stocks),
    ToolSpec("get_crypto_price", "stocks", "Get the current price of a cryptocurrency.",
             {"coin": s("Coin id, e.g. 'bitcoin'.", enum=sorted(COINS)), "currency": s("Quote currency code.")},
             ("coin",), "look up cryptocurrency prices",
             (("What's the price of {coin} right now?", {}), ("How much is one {coin} in {currency}?", {}),
              ("Current {coin} price in {currency}?", {}), ("How much is {coin} worth today?", {})), crypto),
    ToolSpec("translate_text", "language", "Translate text into another language.",
             {"text": s("Text to translate."), "target_language": s("ISO 639-1 code of the target language, e.g. 'fr'."),
              "source_language": s("ISO 639-1 code of the source language.")}, ("text", "target_language"),
             "translate text",
             (("Translate '{text}' into {target_language}.", {}), ("How do you say '{text}' in {target_language}?", {}),
              ("Translate this from {source_language} to {target_language}: {text}", {})), translate),
    ToolSpec("define_word", "language", "Look up the dictionary definition of an English word.",
             {"word": s("The word."), "language": s("Dictionary language code.")}, ("word",), "look up word definitions",
             (("What does '{word}' mean?", {}), ("Define the word {word}.", {}), ("Look up the meaning of {word}.", {}),
              ("I keep hearing '{word}'. What is the definition?", {})), words),
    ToolSpec("send_email", "communication", "Send an email.",
             {"to": s("Recipient email address."), "subject": s("Subject line."), "body": s("Message body."),
              "cc": arr("Addresses to copy.", "string")}, ("to", "subject", "body"), "send emails",
             (("Email {to} with the subject '{subject}' and say: {body}", {}),
              ("Send a message to {to}. Subject: {subject}. Body: {body}", {})), email),
    ToolSpec("get_current_time", "time", "Get the current local time in an IANA time zone.",
             {"timezone": s("IANA time zone name, e.g. 'Europe/Paris'.")}, ("timezone",), "tell the time",
             (("What time is it in {timezone}?", {}), ("Current local time in {timezone}, please.", {})), clock),
    ToolSpec("set_timer", "time", "Start a countdown timer.",
             {"minutes": n("Length of the timer in minutes.", "integer"), "label": s("Optional label.")}, ("minutes",),
             "set timers",
             (("Set a timer for {minutes} minutes.", {}), ("Start a {minutes}-minute timer called {label}.", {})), timer),
    ToolSpec("find_restaurants", "food", "Find restaurants in a city by cuisine.",
             {"city": s("City name."), "cuisine": s("Type of cuisine."),
              "price_level": s("Price level.", enum=["$", "$$", "$$$"]), "open_now": b("Only restaurants open now.")},
             ("city", "cuisine"), "find restaurants",
             (("Find {cuisine} restaurants in {city}.", {}), ("Where can I get {cuisine} food in {city} that's open now?", {"open_now": True}),
              ("Recommend a {cuisine} place in {city}.", {})), restaurants),
    ToolSpec("search_recipes", "food", "Search cooking recipes that use the given ingredients.",
             {"ingredients": arr("Ingredients to use.", "string"), "max_minutes": n("Maximum preparation time in minutes.", "integer")},
             ("ingredients",), "search recipes",
             (("What can I cook with {ingredients}?", {}), ("Find a recipe using {ingredients} that takes under {max_minutes} minutes.", {})),
             recipes),
    ToolSpec("play_song", "media", "Play a song on the user's speaker.",
             {"title": s("Song title."), "artist": s("Artist name."), "shuffle": b("Shuffle the queue afterwards.")},
             ("title",), "play music",
             (("Play {title} by {artist}.", {}), ("Put on '{title}'.", {}), ("I want to hear {title} by {artist}, shuffle on.", {"shuffle": True})),
             music),
    ToolSpec("get_movie_showtimes", "media", "List showtimes for a movie in a city.",
             {"movie": s("Movie title."), "city": s("City name."), "date": s("Date, YYYY-MM-DD.")}, ("movie", "city"),
             "look up movie showtimes",
             (("When is {movie} playing in {city}?", {}), ("Showtimes for {movie} in {city} on {date}?", {})), movies),
    ToolSpec("get_news_headlines", "news", "Get top news headlines about a topic.",
             {"topic": s("News topic."), "country": s("Two-letter country code."), "limit": n("Number of headlines.", "integer")},
             ("topic",), "fetch news headlines",
             (("What's the latest news on {topic}?", {}), ("Give me {limit} headlines about {topic}.", {})), news),
    ToolSpec("search_wikipedia", "news", "Search Wikipedia and return a short summary.",
             {"query": s("Search terms."), "sentences": n("Number of summary sentences.", "integer")}, ("query",),
             "search an encyclopedia",
             (("Look up {query} on Wikipedia.", {}), ("Give me a {sentences}-sentence summary of {query}.", {})), wiki),
    ToolSpec("track_package", "shopping", "Track a parcel by tracking number.",
             {"tracking_number": s("The tracking number."), "carrier": s("Shipping carrier.", enum=CARRIERS)},
             ("tracking_number",), "track packages",
             (("Where is my package {tracking_number}?", {}), ("Track {carrier} shipment {tracking_number}.", {})), package),
    ToolSpec("calculate_bmi", "health", "Calculate body mass index from weight and height.",
             {"weight_kg": n("Weight in kilograms."), "height_m": n("Height in meters.")}, ("weight_kg", "height_m"),
             "calculate BMI",
             (("What's my BMI if I weigh {weight_kg} kg and I'm {height_m} m tall?", {}),
              ("Calculate BMI for {height_m} meters and {weight_kg} kilograms.", {})), bmi),
    ToolSpec("calculate_tip", "finance", "Calculate the tip for a restaurant bill.",
             {"bill_amount": n("Total bill."), "tip_percent": n("Tip percentage."),
              "split_between": n("Number of people splitting the bill.", "integer")}, ("bill_amount", "tip_percent"),
             "calculate tips",
             (("What's a {tip_percent}% tip on {bill_amount}?", {}),
              ("Our bill is {bill_amount}; {tip_percent} percent tip, split between {split_between} people.", {})), tip),
    ToolSpec("get_match_results", "sports", "Get recent match results for a football team.",
             {"team": s("Team name."), "season": n("Season start year.", "integer")}, ("team",), "look up sports results",
             (("How did {team} do in their last match?", {}), ("Show {team}'s results for the {season} season.", {})), sports),
    ToolSpec("get_league_standings", "sports", "Get the current table of a football league.",
             {"league": s("League id.", enum=LEAGUES), "season": n("Season start year.", "integer")}, ("league",),
             "show league standings",
             (("Show me the {league} table.", {}), ("What were the {league} standings in {season}?", {})), sports),
    ToolSpec("set_thermostat", "home", "Set the target temperature of a room's thermostat in Celsius.",
             {"temperature": n("Target temperature in Celsius."), "room": s("Room name.")}, ("temperature",),
             "control the heating",
             (("Set the thermostat to {temperature} degrees.", {}), ("Make the {room} {temperature} degrees.", {})), home),
    ToolSpec("control_lights", "home", "Turn the lights in a room on or off, optionally dimmed.",
             {"room": s("Room name."), "on": b("True to switch on, false to switch off."),
              "brightness": n("Brightness percent (1-100).", "integer")}, ("room", "on"), "control the lights",
             (("Turn on the lights in the {room}.", {"on": True}), ("Switch off the {room} lights.", {"on": False}),
              ("Dim the {room} lights to {brightness} percent.", {"on": True})), home),
    ToolSpec("get_directions", "maps", "Get directions between two places.",
             {"origin": s("Start address or place."), "destination": s("End address or place."),
              "mode": s("Travel mode.", enum=["driving", "walking", "bicycling", "transit"])}, ("origin", "destination"),
             "give directions",
             (("How do I get from {origin} to {destination}?", {}), ("Directions from {origin} to {destination} by {mode}.", {})),
             directions),
    ToolSpec("generate_password", "security", "Generate a random password.",
             {"length": n("Number of characters.", "integer"), "include_symbols": b("Include punctuation symbols.")},
             ("length",), "generate passwords",
             (("Generate a {length}-character password.", {}),
              ("I need a strong password, {length} characters, with symbols.", {"include_symbols": True}),
              ("Make me a {length} character password without any symbols.", {"include_symbols": False})), password),
    ToolSpec("get_country_population", "geography", "Get the population of a country.",
             {"country": s("Country name."), "year": n("Year of the estimate.", "integer")}, ("country",),
             "look up population figures",
             (("What's the population of {country}?", {}), ("How many people lived in {country} in {year}?", {}),
              ("How many people live in {country}?", {}), ("Population of {country} as of {year}, please.", {})), population),
)

TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}

# Requests no catalogue tool can serve: irrelevance tasks also use these, with any tools.
OPEN_REQUESTS = (
    ("Write a short poem about the sea.", "write poetry"),
    ("Can you tell me a joke?", "tell jokes"),
    ("Summarise the plot of Hamlet in two sentences.", "summarise books"),
    ("What's a good name for a golden retriever puppy?", "suggest pet names"),
    ("Help me write a birthday card for my sister.", "write greeting cards"),
    ("Explain how photosynthesis works.", "explain science topics"),
    ("Can you proofread this sentence: 'Their going to the park tomorow.'", "proofread text"),
    ("Recommend a good science fiction novel.", "recommend books"),
    ("What should I get my dad for his 60th birthday?", "suggest gifts"),
    ("Write a limerick about a cat who loves lasagna.", "write poetry"),
    ("Give me three tips for sleeping better.", "give health advice"),
    ("Draft a polite message declining a wedding invitation.", "draft messages"),
    ("What's the difference between a simile and a metaphor?", "explain grammar"),
    ("Suggest a name for my bakery.", "suggest business names"),
    ("How do I politely ask my neighbour to turn the music down?", "give social advice"),
    ("Describe the rules of chess in a few sentences.", "explain games"),
)

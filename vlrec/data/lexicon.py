"""Everyday shopper words for the fashion catalogue's values: the training lexicon of the intent LM.

What a shopper may say for each catalogue value: synonyms and regional words ("trainers",
"jumper", "sunnies"), what an item is *for* ("to keep my hands warm on winter rides"), who it
is for ("for my husband"), and colour words outside the catalogue's own ("wine", "navy").
:mod:`vlrec.data.intent` composes requests from these; the free-form evaluation requests
(``benchmarks/data/freeform_requests.jsonl``) were written separately and are never read here.

Values missing from a served catalogue simply never appear in what the model may answer.
"""

from __future__ import annotations

# articleType -> names a shopper uses (nouns, plural or singular as said).
NAMES: dict[str, list[str]] = {
    "Tshirts": ["t-shirts", "tees", "a tee", "a t-shirt", "tshirts", "polo shirts", "a polo", "graphic tees",
                "crew necks", "round neck tees", "a plain tee", "a tee shirt", "a henley", "a v-neck tee", "a muscle tee",
                "a sports jersey", "a football jersey", "a cricket jersey", "a team jersey", "a jersey",
                "a football shirt", "a footy shirt", "a footie shirt", "a rugby shirt"],
    "Shirts": ["shirts", "a shirt", "button-downs", "a button-up", "collared shirts", "an oxford shirt",
               "a dress shirt", "a checked shirt", "a linen shirt", "a flannel shirt", "a flannel", "an overshirt", "a denim shirt",
               "something with a collar and buttons"],
    "Casual Shoes": ["sneakers", "creps", "casual shoes", "loafers", "skater shoes", "canvas shoes", "everyday shoes", "plimsolls",
                     "slip-ons", "boat shoes", "kicks", "moccasins", "espadrilles", "deck shoes", "high tops", "high-tops", "low tops", "low-tops"],
    "Sports Shoes": ["trainers", "running shoes", "runners", "gym shoes", "sports shoes", "training shoes",
                     "jogging shoes", "athletic shoes", "sneakers for running", "football boots", "cleats", "running trainers", "track spikes", "badminton shoes", "tennis shoes", "basketball shoes", "hiking shoes", "trail shoes", "walking shoes", "non-marking shoes", "trail runners", "badminton court shoes", "tennis court shoes", "squash court shoes", "indoor court shoes"],
    "Formal Shoes": ["formal shoes", "oxfords", "brogues", "derby shoes", "dress shoes", "office shoes",
                     "lace-up leather shoes", "shoes for a suit", "wingtips", "monk straps", "patent leather shoes"],
    "Tops": ["tops", "a top", "a blouse", "blouses", "a cami", "a tank top", "a crop top", "a peplum top",
             "a camisole", "a halter top", "a tube top", "a vest top"],
    "Kurtas": ["kurtas", "a kurta", "a kurta for men", "a long tunic shirt", "ethnic shirts", "an anarkali", "a kameez", "an indian-style top", "an indian style top", "an indian top", "a salwar suit", "salwar suits", "a salwar kameez", "salwar kameez"],
    "Kurtis": ["kurtis", "a kurti", "a short kurta", "an ethnic top"],
    "Watches": ["watches", "a watch", "a wristwatch", "a timepiece", "a chronograph", "something to tell the time", "a digital watch", "an analogue watch", "an analog watch", "a ghadi", "a haath ghadi"],
    "Handbags": ["handbags", "a handbag", "a purse", "a tote", "a tote bag", "a shoulder bag", "a sling bag",
                 "a satchel", "a hobo bag", "a pocketbook", "a shopper bag", "a big shopper", "a market bag"],
    "Heels": ["heels", "high heels", "stilettos", "pumps", "wedges", "block heels", "kitten heels", "court shoes", "slingbacks", "peep toes", "platform heels", "a little lift", "a bit of lift", "some lift", "a bit of height", "a little height", "some height",
              "with a little lift", "with a bit of lift", "with some lift", "with a bit of height", "with a little height",
              "with some height"],
    "Sunglasses": ["sunglasses", "sunnies", "shades", "aviators", "wayfarers", "sun specs", "dark glasses", "a chashma", "a chashmah", "a dhoop ka chashma"],
    "Sweaters": ["sweaters", "a jumper", "jumpers", "a pullover", "a cardigan", "a knit", "knitwear",
                 "a woolly", "a sweater vest", "a turtleneck", "a roll neck", "a cardi", "a knitted top",
                 "a polo neck", "polo necks", "a polo-neck", "a mock neck"],
    "Sandals": ["sandals", "strappy sandals", "open shoes", "slides", "chappals", "floaters", "kolhapuris",
                "kolhapuri chappals", "kolhapuri sandals"],
    "Wallets": ["wallets", "a wallet", "a billfold", "a card holder", "a money purse", "a coin purse", "a cardholder", "a money clip", "a batua", "a batwa", "a gents purse", "gents purses", "a mens purse", "a gents wallet", "a purse for men", "a purse for gents", "a purse for a man", "a purse for him"],
    "Flip Flops": ["flip flops", "flip-flops", "thongs", "slippers", "hawaii chappals", "pool sliders", "sliders", "jandals",
                   "beach slippers"],
    "Sweatshirts": ["sweatshirts", "a hoodie", "hoodies", "a hooded top", "a sweatshirt", "a sweat shirt", "a crewneck sweatshirt",
                    "a fleece top", "a fleecy top", "something fleecy", "a sweat top", "a zip-up hoodie", "a zip-up", "a zip hoodie", "a zipper hoodie", "a hoody", "a pullover hoodie"],
    "Belts": ["belts", "a belt", "a leather belt", "a waist belt"],
    "Trousers": ["trousers", "pants", "chinos", "slacks", "formal pants", "cotton trousers", "dress pants", "formal trousers", "cargos", "cargo pants"],
    "Jeans": ["jeans", "denims", "a pair of denims", "skinny jeans", "straight-leg jeans"],
    "Socks": ["socks", "ankle socks", "a pack of socks", "crew socks", "trainer socks", "no-show socks", "sock liners", "no-show liners", "loafer socks", "invisible socks", "sports socks", "sox", "moze", "moje", "mojey", "mozey", "mozay", "mojay", "jurabein", "footies", "footie socks"],
    "Jackets": ["jackets", "a jacket", "a blazer", "a bomber", "a windcheater", "a coat", "a denim jacket",
                "a rain jacket", "a puffer", "a parka", "an anorak", "a raincoat", "a trench coat", "a windbreaker", "an overcoat", "a varsity jacket", "a down jacket", "a quilted jacket", "a fleece jacket", "a rain shell", "a shell jacket", "a track jacket", "a biker jacket", "a leather jacket", "a cagoule", "a softshell", "a zip-up jacket"],
    "Flats": ["flats", "ballet flats", "ballerinas", "flat shoes", "pumps without heels", "mojaris", "juttis",
              "ballet pumps", "something flat", "flat footwear", "zero heel", "zero height", "no heel",
              "with zero height", "with no heel", "with no heels", "bellies", "ballet shoes", "mary janes", "flatties"],
    "Backpacks": ["backpacks", "a backpack", "a rucksack", "a school bag", "a daypack", "a knapsack", "a bookbag", "a college bag", "a bagpack", "a hiking pack"],
    "Briefs": ["briefs", "underwear", "undies", "boxer briefs", "jocks", "jockeys", "y-fronts", "tighty whities", "tighty-whities", "panties", "knickers", "boyshorts", "hipsters"],
    "Shorts": ["shorts", "a pair of shorts", "bermudas", "cargo shorts", "half pants", "boardies", "board shorts", "swim shorts", "gym shorts", "running shorts", "cutoffs", "denim cutoffs", "cut-off shorts"],
    "Innerwear Vests": ["vests", "an undershirt", "a banian", "sleeveless undershirts", "inner vests", "a baniyan", "a banyan", "a singlet", "a stringer", "a stringer vest", "a gym vest", "thermals", "a thermal", "a thermal vest", "a sando", "a ganji", "ganjis"],
    "Caps": ["caps", "a cap", "a baseball cap", "a snapback", "a peaked cap", "a trucker cap", "a beanie", "a skull cap", "a visor", "a lid", "something with a peak", "a hat with a peak", "a cap with a peak", "a topi", "topis"],
    "Track Pants": ["track pants", "joggers", "trackies", "sweatpants", "jogging bottoms", "lowers", "trackpants", "track bottoms", "tracky bottoms", "jogger pants", "trackers", "tracksuit bottoms"],
    "Ties": ["ties", "a tie", "a necktie", "a bow tie", "neckwear"],
    "Clutches": ["clutches", "a clutch", "an evening bag", "a small party purse", "a potli", "a wristlet", "a clutch bag", "a tiny bag",
                 "tiny bag"],
    "Mufflers": ["mufflers", "a muffler", "a neck warmer", "a snood", "a neck gaiter", "a gulaband", "a gulband", "a galaband"],
    "Dresses": ["dresses", "a dress", "a frock", "a maxi", "a sundress", "a gown", "a midi dress", "a one-piece", "a bodycon", "an lbd", "a bikini cover up", "a bikini cover-up", "a beach cover up", "a beach cover-up", "a swim cover up", "a kaftan", "a caftan"],
    "Accessory Gift Set": ["an accessory gift set", "a gift set", "a gift hamper of accessories",
                           "a wallet and belt combo", "a hamper", "a gift box", "a box of goodies", "a gift combo", "a combo set"],
    "Trunk": ["trunks", "swimming trunks", "boxer trunks"],
    "Skirts": ["skirts", "a skirt", "a mini skirt", "a pencil skirt", "a maxi skirt"],
    "Scarves": ["scarves", "a scarf", "a head scarf", "a neck scarf"],
    "Perfume and Body Mist": ["perfume", "a fragrance", "scent", "body mist", "eau de toilette", "cologne",
                              "something that smells nice", "scented", "an attar", "eau de parfum", "an itr", "an ittar", "an itar"],
    "Cufflinks": ["cufflinks", "cuff links", "shirt studs"],
    "Capris": ["capris", "three-quarter pants", "cropped pants", "pedal pushers", "three-quarter length", "3/4 length", "3/4 pants", "3/4 trousers", "3/4ths", "3/4th pants", "3/4th trousers", "3/4th length", "three-quarter length pants", "three-quarter length trousers", "3/4 length pants", "3/4 length trousers"],
    "Laptop Bag": ["a laptop bag", "laptop bags", "a computer bag", "a briefcase", "an office bag", "a laptop sleeve", "a laptop case"],
    "Tunics": ["tunics", "a tunic", "a long top"],
    "Stockings": ["stockings", "pantyhose", "nylons", "hosiery", "sheer hosiery"],
    "Leggings": ["leggings", "jeggings", "churidar leggings", "yoga pants"],
    "Duffel Bag": ["a duffel", "a duffel bag", "a duffle", "a duffle bag", "a gym bag", "a holdall", "a weekender", "a kit bag",
                   "a travel bag", "a sports bag", "an overnight bag", "a weekend bag"],
    "Mobile Pouch": ["a phone pouch", "a mobile pouch", "a phone case", "a mobile cover pouch", "a phone holder", "something to keep my phone in", "something to keep my mobile in", "something to keep his phone in", "something to keep her phone in"],
    "Deodorant": ["deodorant", "deo", "a body spray", "antiperspirant", "a roll-on", "a deo spray", "deos"],
    "Tracksuits": ["tracksuits", "a tracksuit", "a jogging suit", "a shell suit", "a jogging set", "a track suit", "a sweatsuit", "a training suit", "a jogger set", "a sports set", "a gym set", "a workout set", "a training set", "a track set", "a tracksuit set"],
    "Sports Sandals": ["sports sandals", "hiking sandals", "trekking sandals", "outdoor sandals"],
    "Gloves": ["gloves", "mittens", "a pair of gloves", "riding gloves"],
    "Bra": ["bras", "a bra", "a sports bra", "a bralette", "lingerie", "a push-up bra", "a t-shirt bra"],
    "Messenger Bag": ["a messenger bag", "a crossbody bag", "a crossbody", "a cross-body", "a cross body bag", "a cross-body bag", "a satchel for work", "a courier bag", "a man bag", "a man-bag", "a manbag"],
    "Fragrance Gift Set": ["a fragrance gift set", "a perfume gift set", "a scent gift box", "a perfume set", "a fragrance set", "a perfume hamper"],
    "Lounge Shorts": ["lounge shorts", "sleep shorts", "pyjama shorts"],
    "Umbrellas": ["umbrellas", "an umbrella", "a brolly"],
    "Dupatta": ["a dupatta", "dupattas", "a chunni", "an odhni"],
    "Stoles": ["stoles", "a stole", "a shawl", "a wrap"],
    "Lounge Pants": ["lounge pants", "pyjama bottoms", "pajama pants", "sleep pants", "pyjamas", "pajamas", "pjs", "night pants", "sleep bottoms", "lounge bottoms", "pj bottoms", "pj pants", "pajama bottoms", "jammies", "a dressing gown", "a bathrobe"],
    "Waist Pouch": ["a waist pouch", "a bum bag", "a fanny pack", "a belt bag"],
    "Hat": ["hats", "a hat", "a sun hat", "a fedora", "a bucket hat", "a woolly hat", "a panama"],
    "Headband": ["a headband", "hair bands", "a sweatband", "a hairband"],
    "Churidar": ["churidars", "a churidar", "churidar pyjamas"],
    "Boxers": ["boxers", "boxer shorts", "boxerish", "boxer-ish"],
    "Waistcoat": ["a waistcoat", "waistcoats", "a gilet"],
    "Shrug": ["a shrug", "shrugs", "a bolero"],
    "Sarees": ["sarees", "a saree", "a sari", "saris"],
    "Tights": ["tights", "a pair of tights"],
    "Kurta Sets": ["a kurta set", "kurta sets", "a kurta pyjama set"],
    "Necklace and Chains": ["a necklace", "necklaces", "a chain", "a pendant"],
    "Bracelet": ["a bracelet", "bracelets"],
    "Travel Accessory": ["a passport holder", "a passport cover", "a toiletry bag", "a toiletry kit", "a wash bag"],
}  # fmt: skip

# articleType -> what it is for, in a shopper's words (no catalogue word for the type).
USES: dict[str, list[str]] = {
    "Tshirts": ["something light to throw on for the weekend", "a basic top to wear under an open shirt",
                "something casual with short sleeves", "a comfy top for lounging around"],
    "Shirts": ["something with a collar and buttons for work", "a top to wear with a suit",
               "something smart with long sleeves for the office"],
    "Casual Shoes": ["something comfy for my feet for everyday walking about", "footwear for casual outings",
                     "comfortable shoes for college"],
    "Sports Shoes": ["something for my feet for my morning runs", "footwear for the gym",
                     "shoes for jogging in the park", "something to run a marathon in", "footwear for badminton"],
    "Formal Shoes": ["shoes to go with my suit", "polished footwear for the office",
                     "footwear for a job interview with my suit"],
    "Watches": ["something for my wrist to check the time", "a wrist accessory to keep time",
                "something to wear on my wrist that tells the time"],
    "Handbags": ["something to carry my things on my shoulder", "a bag to carry my purse and makeup",
                 "a roomy bag for shopping trips"],
    "Heels": ["something to make me look taller at a party", "dressy footwear that adds height"],
    "Sunglasses": ["something to protect my eyes from the sun", "eyewear for sunny days at the beach",
                   "something to cut the glare while driving"],
    "Sweaters": ["something warm and knitted to wear over a shirt", "something woolly for chilly evenings"],
    "Sandals": ["open footwear for hot weather", "something airy for my feet in summer"],
    "Wallets": ["something to keep my cards and cash in", "something to hold my money and ID",
                "a little thing to keep notes and coins in my back pocket"],
    "Flip Flops": ["something to slip on at the pool", "cheap footwear for the beach and the shower",
                   "something to wear on my feet around the house"],
    "Sweatshirts": ["something cosy with a hood", "a warm top for cold mornings on campus"],
    "Belts": ["something to hold my trousers up", "something to go round my waist with jeans"],
    "Trousers": ["something for my legs for the office", "smart bottoms to wear to work"],
    "Jeans": ["casual denim bottoms", "rugged everyday bottoms in denim"],
    "Socks": ["something to wear inside my shoes", "something to keep my feet warm in my shoes"],
    "Jackets": ["something to wear over my clothes when it's cold", "an outer layer for windy days",
                "something to keep the rain off on my commute"],
    "Backpacks": ["something to carry my books to college", "a bag to carry on both shoulders for hiking",
                  "a bag for my laptop and lunch on my bike commute"],
    "Briefs": ["something to wear under my trousers", "everyday underthings"],
    "Shorts": ["something for my legs for hot summer days", "bottoms that stop above the knee"],
    "Innerwear Vests": ["something sleeveless to wear under a shirt", "a layer under my office shirt"],
    "Caps": ["something to keep the sun off my head", "headwear for a cricket match"],
    "Track Pants": ["comfy bottoms for the gym", "something loose for my legs for yoga or jogging"],
    "Ties": ["something to knot around my collar for a wedding", "something to finish off a suit"],
    "Clutches": ["a small bag to carry to a party", "something tiny to hold my phone and lipstick at a wedding"],
    "Mufflers": ["something to wrap around my neck in the cold", "something to keep my throat warm in winter"],
    "Dresses": ["a one-piece outfit for a date night", "something pretty to wear to a summer party"],
    "Skirts": ["something flowy for my lower half"],
    "Scarves": ["something light to drape around my neck"],
    "Perfume and Body Mist": ["something to make me smell nice", "a nice smell for date night"],
    "Cufflinks": ["something to fasten the cuffs of a dress shirt", "little fasteners for french cuffs"],
    "Laptop Bag": ["something to carry my computer to work", "a bag for my laptop and documents"],
    "Duffel Bag": ["a carry-all for my gym kit", "a bag for a weekend away", "something to pack for a short trip"],
    "Deodorant": ["something to stop me smelling of sweat", "something for under my arms after the gym"],
    "Gloves": ["something to keep my hands warm on winter rides", "something for my hands when it's freezing",
               "something to protect my hands while biking"],
    "Umbrellas": ["something to keep me dry in the rain", "something for the monsoon downpours"],
    "Stockings": ["something sheer for my legs under a skirt"],
    "Leggings": ["stretchy bottoms to wear under a kurti", "comfy stretchy bottoms for yoga"],
    "Kurtas": ["something traditional to wear for diwali", "ethnic wear for a puja"],
    "Kurtis": ["a traditional top to wear with leggings", "something ethnic for office fridays"],
    "Mobile Pouch": ["something to carry my phone in", "a little case for my phone"],
    "Waist Pouch": ["something to carry my keys around my waist on a run"],
    "Hat": ["something with a brim to shade my face"],
}  # fmt: skip

# baseColour -> words a shopper uses for it.
COLOURS: dict[str, list[str]] = {
    "Black": ["black", "jet black", "all-black", "dark black", "noir", "blk"],
    "Blue": ["blue", "sky blue", "royal blue", "light blue", "cobalt", "denim blue"],
    "White": ["white", "snow white", "pure white", "bright white"],
    "Grey": ["grey", "gray", "ash", "slate grey", "light grey"],
    "Brown": ["brown", "chocolate", "chestnut", "tobacco brown", "dark brown"],
    "Red": ["red", "scarlet", "cherry red", "crimson", "bright red"],
    "Green": ["green", "emerald", "bottle green", "forest green", "leaf green"],
    "Navy Blue": ["navy", "navy blue", "dark blue", "midnight blue"],
    "Purple": ["purple", "violet", "plum", "grape"],
    "Pink": ["pink", "baby pink", "rose", "blush", "hot pink"],
    "Beige": ["beige", "sand", "camel", "stone", "fawn"],
    "Maroon": ["maroon", "wine", "oxblood", "dark red"],
    "Yellow": ["yellow", "lemon", "sunshine yellow", "canary"],
    "Olive": ["olive", "olive green", "army green", "khaki green", "military green"],
    "Silver": ["silver", "silvery", "chrome"],
    "Steel": ["steel", "stainless", "gunmetal"],
    "Orange": ["orange", "tangerine", "bright orange"],
    "Cream": ["cream", "ivory", "ecru"],
    "Gold": ["gold", "golden", "gold-tone"],
    "Tan": ["tan", "light brown", "cognac"],
    "Charcoal": ["charcoal", "dark grey", "charcoal grey"],
    "Multi": ["multicoloured", "multi-colour", "colourful", "rainbow"],
    "Khaki": ["khaki"],
    "Off White": ["off white", "off-white", "eggshell"],
    "Magenta": ["magenta", "fuchsia"],
    "Copper": ["copper"],
    "Lavender": ["lavender", "lilac"],
    "Peach": ["peach", "apricot"],
    "Mustard": ["mustard"],
    "Teal": ["teal", "petrol blue"],
    "Rust": ["rust", "burnt orange"],
    "Burgundy": ["burgundy"],
    "Turquoise Blue": ["turquoise", "aqua"],
    "Coffee Brown": ["coffee", "mocha"],
    "Bronze": ["bronze"],
}  # fmt: skip

# a word for a range of colours -> the catalogue colours it covers ("a dark tee", "bright colours",
# "not metal"); read by the agent (:func:`vlrec.agent.vocabulary.colour_family`), not by the generator.
_DARK = ["Black", "Navy Blue", "Charcoal", "Maroon", "Burgundy", "Coffee Brown", "Brown", "Olive"]
_BRIGHT = ["Red", "Orange", "Yellow", "Pink", "Magenta", "Fluorescent Green", "Turquoise Blue", "Green"]
_PASTEL = ["Pink", "Lavender", "Peach", "Mauve", "Cream", "Off White", "Sea Green"]
_NEON = ["Fluorescent Green", "Yellow", "Orange", "Pink", "Magenta"]
_METAL = ["Silver", "Steel", "Gold", "Metallic", "Bronze", "Copper"]
_NEUTRAL = ["Beige", "Cream", "Off White", "White", "Grey", "Grey Melange", "Taupe", "Tan", "Khaki", "Nude", "Skin",
            "Charcoal", "Black", "Brown", "Coffee Brown"]  # fmt: skip
_MUTED = [c for c in _NEUTRAL if c not in ("Nude", "Skin", "Black")] + ["Navy Blue", "Olive"]
"""Neutrals without skin tones and black, with navy and olive: "muted", "subtle", "sober"."""
COLOUR_FAMILIES: dict[str, list[str]] = {
    "dark": _DARK, "darker": _DARK,
    "bright": _BRIGHT, "loud": _BRIGHT, "flashy": [*_BRIGHT, "Gold", "Metallic"],
    "neon": _NEON, "fluro": _NEON, "fluoro": _NEON,
    "colourful": [*_BRIGHT, "Multi"], "colorful": [*_BRIGHT, "Multi"], "vibrant": [*_BRIGHT, "Multi"],
    "pastel": _PASTEL, "pastels": _PASTEL,
    "softcolours": [*_PASTEL, "White", "Beige", "Skin", "Nude"],  # "in a soft colour", "light shades" (read as this word)
    "metal": _METAL, "metallic": _METAL,
    "earthy": ["Brown", "Coffee Brown", "Tan", "Beige", "Olive", "Khaki", "Rust", "Mustard", "Taupe"],
    "neutral": _NEUTRAL, "neutrals": _NEUTRAL,
    "muted": _MUTED, "subtle": _MUTED, "sober": _MUTED,
    "darkwash": ["Navy Blue", "Blue"], "lightwash": ["Blue"],  # "dark wash denims" (read as this word)
}  # fmt: skip
# The shades nearest each colour, for a reply that runs out of the colour asked for: a tan belt
# goes on with brown and beige ones before belts of any colour (:mod:`vlrec.agent.retrieve`).
NEAR_COLOURS: dict[str, list[str]] = {
    "Tan": ["Brown", "Coffee Brown", "Beige"], "Brown": ["Coffee Brown", "Tan"], "Coffee Brown": ["Brown", "Tan"],
    "Beige": ["Cream", "Khaki", "Tan"], "Khaki": ["Beige", "Olive"], "Olive": ["Khaki", "Green"],
    "Silver": ["Steel", "Grey", "Metallic"], "Steel": ["Silver", "Grey"], "Gold": ["Bronze", "Copper", "Metallic"],
    "Bronze": ["Gold", "Copper"], "Copper": ["Bronze", "Gold"], "Grey": ["Charcoal", "Grey Melange", "Silver"],
    "Charcoal": ["Grey", "Grey Melange"], "Grey Melange": ["Grey", "Charcoal"], "Navy Blue": ["Blue"],
    "Blue": ["Navy Blue", "Turquoise Blue", "Teal"], "Turquoise Blue": ["Teal", "Blue"], "Teal": ["Turquoise Blue", "Blue"],
    "Red": ["Maroon", "Burgundy"], "Maroon": ["Burgundy", "Red"], "Burgundy": ["Maroon", "Red"],
    "Pink": ["Magenta", "Peach"], "Magenta": ["Pink", "Purple"], "Peach": ["Pink", "Orange"],
    "Purple": ["Lavender", "Mauve", "Magenta"], "Lavender": ["Purple", "Mauve"], "Mauve": ["Lavender", "Purple"],
    "White": ["Off White", "Cream"], "Off White": ["White", "Cream"], "Cream": ["Off White", "Beige"],
    "Green": ["Olive", "Sea Green", "Teal"], "Yellow": ["Mustard"], "Mustard": ["Yellow"], "Orange": ["Rust", "Peach"],
    "Rust": ["Orange", "Maroon"], "Nude": ["Skin", "Beige"], "Skin": ["Nude", "Beige"],
}  # fmt: skip

# gender -> how a shopper says who it is for (for self or as a gift).
GENDER_NOUNS = {"Men": "men", "Women": "women", "Boys": "boys", "Girls": "girls", "Unisex": "anyone"}
"""The plain word for each gender value, as a templated request says it ("... for men")."""

GENDER: dict[str, list[str]] = {
    "Men": ["for men", "for a man", "for him", "for my husband", "for my dad", "for my boyfriend",
            "for my brother", "men's", "for my father-in-law", "for my grandpa", "for a guy", "for me, I'm a guy",
            "for my son who is 25", "for my fiance", "for my uncle", "gents", "for my male colleague"],
    "Women": ["for women", "for a woman", "for her", "for my wife", "for my mum", "for my mom",
              "for my girlfriend", "for my sister", "women's", "ladies'", "for my grandma", "for my aunt",
              "for my mother-in-law", "for me, I'm a woman", "for my female boss", "for my bride-to-be"],
    "Boys": ["for a boy", "for my son who is 8", "for my little boy", "boys'", "for my nephew, he's ten",
             "for a schoolboy", "for a kid brother aged 9"],
    "Girls": ["for a girl", "for my daughter who is 7", "for my little girl", "girls'", "for my niece, she's six",
              "for a schoolgirl"],
    "Unisex": ["unisex", "for anyone", "that either of us could wear", "gender-neutral"],
}  # fmt: skip

# usage -> occasions and purposes.
USAGE: dict[str, list[str]] = {
    "Casual": ["casual", "for everyday wear", "for the weekend", "for hanging out", "laid-back", "for college",
               "for running errands"],
    "Formal": ["formal", "for the office", "for work", "for a job interview", "for a board meeting",
               "smart enough for a client meeting", "for a corporate dinner"],
    "Sports": ["for sports", "for the gym", "for running", "for football practice", "for workouts",
               "for training", "for yoga", "for cycling", "sporty", "athletic"],
    "Ethnic": ["ethnic", "traditional", "for diwali", "for a wedding ceremony", "for eid", "for a puja",
               "for a mehendi", "festive indian", "for navratri"],
    "Smart Casual": ["smart casual", "for a casual friday at work", "dressy but not too formal"],
}  # fmt: skip

OPENERS = ["", "", "", "hi, ", "hello! ", "hey, ", "um, ", "ok so ", "good evening, ", "quick one: "]
ASKS = [
    "I'm looking for {x}", "do you have {x}", "show me {x}", "I need {x}", "any {x}", "I want {x}",
    "can you find me {x}", "looking for {x}", "got any {x}", "I'd love {x}", "help me find {x}",
    "I'm after {x}", "searching for {x}", "in the market for {x}", "recommend {x}", "{x} please",
    "{x}", "what {x} do you have", "I could use {x}", "need {x} asap",
]  # fmt: skip
GIFTS = [
    "a birthday present {g}", "a gift {g}", "something nice {g} for our anniversary", "a christmas gift {g}",
    "a little treat {g}", "a surprise {g}", "a diwali present {g}",
]  # fmt: skip
COLOUR_WANT = ["in {c}", "{c}", "in a {c} shade", "preferably {c}", "in {c} if possible", "{c} coloured",
               "ideally in {c}"]  # fmt: skip
COLOUR_AVOID = [
    "anything but {c}", "not {c}", "no {c} please", "any colour except {c}", "but not in {c}",
    "I don't want {c}", "avoid {c}", "nothing {c}", "I hate {c}", "in any colour but {c}",
    "not {c} though", "any shade other than {c}", "skip the {c} ones",
]  # fmt: skip
TYPE_AVOID = ["no {t}", "not {t}", "but not {t}", "anything except {t}", "I don't want {t}", "no {t} please",
              "I can't walk in {t}", "other than {t}"]  # fmt: skip
FOLLOW_UPS = [
    "actually, {x}", "make that {x}", "hmm, {x} instead", "can I see {x}", "{x} would be better",
    "what about {x}", "ok, and {x}", "also {x}",
]  # fmt: skip
SELLER = ["Sure, here are a few options.", "Here is what I found.", "Any preference on colour?",
          "Who is it for?", "These are popular right now."]  # fmt: skip

# Groups a negated kind falls back to: "no heels" still wants footwear of another kind.
SIBLINGS: dict[str, list[str]] = {
    "Heels": ["Flats", "Sandals", "Casual Shoes"],
    "Sports Shoes": ["Casual Shoes", "Formal Shoes"],
    "Formal Shoes": ["Casual Shoes", "Sports Shoes"],
    "Casual Shoes": ["Sports Shoes", "Formal Shoes"],
    "Flip Flops": ["Sandals", "Casual Shoes"],
    "Sandals": ["Flip Flops", "Casual Shoes"],
    "Tshirts": ["Shirts", "Tops"],
    "Shirts": ["Tshirts"],
    "Jeans": ["Trousers", "Track Pants"],
    "Trousers": ["Jeans", "Track Pants"],
    "Backpacks": ["Duffel Bag", "Laptop Bag", "Messenger Bag"],
    "Handbags": ["Clutches", "Backpacks"],
    "Sweaters": ["Sweatshirts", "Jackets"],
    "Sweatshirts": ["Sweaters", "Jackets"],
    "Jackets": ["Sweaters", "Sweatshirts"],
    "Dresses": ["Tops", "Skirts"],
}
GENERIC = {
    ("Heels", "Flats", "Sandals", "Casual Shoes"): ["shoes", "footwear", "something for my feet"],
    ("Sports Shoes", "Casual Shoes", "Formal Shoes"): ["shoes", "footwear", "a pair of shoes"],
    ("Flip Flops", "Sandals", "Casual Shoes"): ["footwear", "something for my feet"],
    ("Sandals", "Flip Flops", "Casual Shoes"): ["footwear", "something open for my feet"],
    ("Tshirts", "Shirts", "Tops"): ["a top", "something for my upper half"],
    ("Shirts", "Tshirts"): ["a top", "something for my upper half"],
    ("Jeans", "Trousers", "Track Pants"): ["bottoms", "something for my legs"],
    ("Trousers", "Jeans", "Track Pants"): ["bottoms", "pants"],
    ("Backpacks", "Duffel Bag", "Laptop Bag", "Messenger Bag"): ["a bag", "bags"],
    ("Handbags", "Clutches", "Backpacks"): ["a bag", "something to carry my stuff"],
    ("Sweaters", "Sweatshirts", "Jackets"): ["something warm", "a warm layer"],
    ("Sweatshirts", "Sweaters", "Jackets"): ["something warm to wear", "a layer for winter"],
    ("Jackets", "Sweaters", "Sweatshirts"): ["something warm", "winter wear"],
    ("Dresses", "Tops", "Skirts"): ["something to wear to a party", "an outfit"],
}
# Kinds a fashion shop may not carry, in everyday words, with the catalogue category nearest to each
# (or None): where the served catalogue has no kind of that name, the agent says so instead of
# listing another kind as if it were one (:func:`vlrec.agent.kinds.uncarried_kind`).
UNCARRIED: dict[str, tuple[list[str], tuple[str, str] | None]] = {
    "earrings": (["earrings", "earring", "jhumkas", "jhumka", "ear studs", "hoops"], ("subCategory", "Jewellery")),
    "rings": (["a ring", "rings", "an engagement ring"], ("subCategory", "Jewellery")),
    "bangles": (["bangles", "a bangle"], ("subCategory", "Jewellery")),
    "lipstick": (["lipstick", "lipsticks", "lip gloss", "lip balm", "lip colour"], None),
    "make-up": (["makeup", "make up", "mascara", "eyeliner", "kajal", "nail polish", "nail paint"], None),
    "swimwear": (["a swimsuit", "swimsuits", "swimsuit", "a bikini", "bikinis", "swimwear", "a swimming costume",
                  "swimming costume"], None),
    "suitcases": (["a suitcase", "suitcases", "suitcase", "a trolley bag", "luggage"], None),
}  # fmt: skip
# The kinds worn on a part of the body, for a request that names the part and no kind ("keep-warm
# stuff for my neck", "something smart for my wrist"; :func:`vlrec.agent.kinds.body_kinds`).
BODY_PARTS: dict[str, list[str]] = {
    "neck": ["Mufflers", "Scarves", "Stoles", "Necklace and Chains"],
    "wrist": ["Watches", "Bracelet"],
    "head": ["Caps", "Hat", "Headband", "Scarves", "Stoles", "Dupatta"],
    "eyes": ["Sunglasses"],
    "forehead": ["Headband", "Caps"],  # "to keep the sweat out of my eyes" too
    "formal neck": ["Ties"],  # "something for round my neck for the interview"
    "cold feet": ["Socks"],  # "something warm for my feet", "my feet are always freezing"
    "cold hands": ["Gloves"],  # "his hands and neck freeze on the scooter"
    "in shoes": ["Socks"],  # "something to wear under my office shoes", "goes under the boots"
    "upper body": ["Tshirts", "Shirts", "Tops", "Sweatshirts", "Sweaters", "Jackets"],  # "for my upper half"
    "lower body": [
        "Track Pants",
        "Trousers",
        "Jeans",
        "Shorts",
        "Capris",
        "Leggings",
        "Skirts",
        "Lounge Pants",
    ],
    "below the knee": ["Skirts", "Dresses"],  # "something flowy below the knee"
    "under kurtis": ["Leggings", "Churidar"],  # "what do I wear under kurtis?"
    "under skirts": ["Stockings", "Tights"],  # "my legs are freezing, something sheer to go under skirts"
    "winter wear": ["Jackets", "Sweaters", "Sweatshirts"],  # "never owned winter clothes"
    "rain": ["Umbrellas", "Jackets"],  # "it's been bucketing down all week and I walk to the station"
    "waist": ["Belts", "Waist Pouch"],
    "back": ["Backpacks", "Rucksacks"],
    "chest": ["Messenger Bag", "Handbags", "Waist Pouch"],
    "cuffs": [
        "Cufflinks"
    ],  # "the little metal things that go on shirt sleeves"  # "one of those bags that go across your chest"
    "pocket": ["Wallets"],
    "collar": ["Ties"],  # "something for my collar, navy or black"
}

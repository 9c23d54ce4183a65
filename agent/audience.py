"""Who an item is for, from the shopper's words: a child's age, an audience said in so many
words, a child with no side named, a shopper buying for themselves. Keyword rules beside the
intent LM, each from its dev failures (docs/benchmarks.md, "the shopper's own words")."""

from __future__ import annotations

import re

from vlrec.agent.vocabulary import NEGATION, SCOPE_BREAK

_AGE = re.compile(
    r"\b(\d{1,2})\s*-?\s*(?:(?:years?|yrs?)[\s-]*old|y/o|yo|saal\s+k[aie]|sal\s+k[aie])\b"
    r"|(?<!like )\b(?:(?:he|she|they)(?:'s|'re| is| are)|hes|shes|theyre)\s+(\d{1,2})\b(?!\s*(?:foot|feet|ft|inch|in\b|cm|kg|uk|us|eu|size|'|\"))"
    r"|\b(?:turns?|turning)\s+(\d{1,2})\b|\b(?:aged?|ages)\s*:?\s+(\d{1,2})\b"
    r"|\b(?:son|daughter|nephew|niece|grandson|granddaughter|boy|girl|kid|child)(?:'s| is)\s+(\d{1,2})\b"
    r"|\b(?:sons?|daughters?|nephews?|nieces?|grandsons?|granddaughters?|boys?|girls?|kids?|child|bhatij[aei]|bhanj[aei])"
    r",?\s+(\d{1,2})\s*-?\s*(?:years?|yrs?)\b(?=\s*(?:$|[,.;:!?)]|old\b))"
    r"|\((\d{1,2})\)"
    r"|(?:'s|\bhis|\bher|\btheir|\bmy)\s+(\d{1,2})(?:st|nd|rd|th)\s+(?:birthday|bday|b-day|party)"
    r"|'s\s+(\d{1,2})(?:st|nd|rd|th)(?=\s*(?:$|[,.!?;]))"
)
_GRADE = re.compile(
    r"\bin\s+(?:class|grade|year|std\.?|standard)\s+(\d{1,2})\b(?!\s+(?:at|of|in)\s+(?:uni|university|college))"
    r"|\b(\d{1,2})(?:st|nd|rd|th)\s+grader?\b"
)
"""A school year ("he's in class 4", "she's in year 3", "a 5th grader"): the child's age is about the year + 5."""
_CHILDHOOD = re.compile(
    r"\b(?:(?:boy|girl|cub) scouts?|girl guides?|primary school|nursery school|kindergarten|pre-?school|play ?school)\b"
)
"""What only a child does ("my son's boy scout camp", "for her kindergarten"): a child's age, 8."""
_CAMP = re.compile(r"\bsummer camps?\b")
"""Summer camp ("my son's off to summer camp"): a child's, unless an adult of the family is named."""
_SCHOOL = re.compile(
    r"(?<!kids )(?<!children )(?<!them )\b(?:late for|back to|off to|ready for|starts?|starting) school\b"
    r"(?! (?:pickup|pick up|run|drop))"
)
"""Going to school ("so they stop being late for school"; not "walks the kids back to school"): a
child's, unless an adult of the family or an adult's course is named (:data:`_ADULT_KIN`)."""
_ADULT_KIN = re.compile(
    r"\b(?:wife|husband|hubby|mum|mom|mother|dad|father|boss|colleague|nurse|masters|degree)\b"
)
_GROWN_UP = re.compile(
    r"\b(?:teach\w*|leaders?|volunteer\w*|works?|working|job|staff|runs|helps? out|counsell?ors?|instructors?|coach(?:es)?)\b"
)
"""An adult's part in what a child does ("she teaches primary school", "a cub scouts leader")."""
_TEEN = re.compile(
    r"\b(?:teen|teenage|teenaged)\s+(?:sons?|daughters?|boys?|girls?|nephews?|nieces?|grandsons?|granddaughters?"
    r"|brothers?|sisters?|kids?)\b|\b(?:for (?:a|my|our)|my|our)\s+teenagers?\b"
    r"|\b(?:sons?|daughters?|boys?|girls?|nephews?|nieces?|twins|kids)\s*[(,-]\s*(?:teens|teenagers?|teen)\b"
    r"|(?<!like )(?<!think )(?<!thinks )(?<!as if )(?<!as though )"
    r"\b(?:they'?re|they are|theyre|both|she'?s|she is|shes|he'?s|he is|hes)\s+(?:both\s+|a\s+)?"
    r"(?:teens?|teenagers?|in (?:their|her|his) (?:early |mid )?teens)\b"
)
"""A teenager named with no age ("my teenage daughter", "a teenager", "twin girls, they're teens"; not "she doesn't want to look
like a teen", "since his teens", "dresses like he's a teenager"): either the child's or the adult's sizes."""
_BOY = re.compile(
    r"\b(?:sons?|nephews?|boys?|lads?|grandsons?|little brother|bhatij[ae]|bhanj[ae]|he|he's|him|his)\b"
)
_GIRL = re.compile(
    r"\b(?:daughters?|nieces?|girls?|gurls?|lass|lassies?|granddaughters?|little sister|bhatiji|bhanji|she|she's|her)\b"
)
_BOY_NOUN = re.compile(r"\b(?:sons?|nephews?|boys?|lads?|grandsons?|little brother|bhatij[ae]|bhanj[ae])\b")
_GIRL_NOUN = re.compile(
    r"\b(?:daughters?|nieces?|girls?|gurls?|lass|lassies?|granddaughters?|little sister|bhatiji|bhanji)\b"
)
"""A child named by a noun; where there is one, pronouns do not count ("our son (6) ..., she likes navy" is a boy)."""
_NUMBERS = {w: n for n, w in enumerate(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split(), 1)}  # fmt: skip
_AGE_WORD = re.compile(
    rf"\b(?:turns?|turning|aged?)\s+(?P<n>{'|'.join(_NUMBERS)})\b(?![\s-]+(?:one|two|three|four|five|six|seven|eight|nine)\b)"
    r"(?=\s*(?:$|[,.!?;:)]|(?:next|this|soon|today|tomorrow|on|in|and|years?|yrs?)\b))"
    rf"|(?<!ty-)(?<!ty )\b(?P<n2>{'|'.join(_NUMBERS)})[\s-]+(?:years?|yrs?)[\s-]+old\b"
)
"""An age in words ("my twins turn six", "a seven-year-old"; not the "one" of "twenty-one"): read
as its number."""
_CHILD_OF = re.compile(
    r"\b(?:my|our|a|an|his|her|their)\s+(\d{1,2})[\s-]*(?:years?|yrs?)[\s-]*old\b"
    r"(?=\s*(?:$|[,.!?;:)]|(?:for|who|is|has|needs|wants|loves|likes|and|kid|kids|child|children|twins|so|but"
    r"|keeps|always|never|just|can|cant|can't|won't|wont|asks|asked|adores|refuses|goes|started)\b))"
)
"""An age said of a person whose side is not named ("trainers for my 9 year old for school", "my 7
year old keeps asking the time"; not "my wallet is 10 years old", "a 3 year old laptop", "they're 3 for 2")."""


def _age_digits(m: re.Match) -> str:
    """The match of :data:`_AGE_WORD` with its number in digits."""
    g = "n" if m.group("n") else "n2"
    start, end = m.start(g) - m.start(), m.end(g) - m.start()
    return m.group(0)[:start] + str(_NUMBERS[m.group(g)]) + m.group(0)[end:]


CHILD_AGE = 12
"""The oldest age read as a child (the catalogue's Boys and Girls)."""
ADULT_AGE = 16
"""The youngest age read as an adult ("my daughter's graduation, she's 22": the catalogue's Women)."""


def child_gender(text: str, allowed) -> set[str] | None:
    """``{"Boys"}`` or ``{"Girls"}`` when the text gives a child's age (at most :data:`CHILD_AGE`:
    "my 8 year old son", "my nephew, he's 11", "my son is 9", "she turns 6", "age 10", "my girl
    (7)", "he's in class 4", "late for school"; an adult's: "my daughter's 18th", "his 40th
    birthday") and one side's words, both where it names both ("twins, a boy and a girl, they're 6"); ``{"Men"}`` or ``{"Women"}`` when every age it gives is an adult's (at least
    :data:`ADULT_AGE`: "my niece who's turning 20"); a teenager's both (``{"Boys", "Men"}`` or
    ``{"Girls", "Women"}``: "my nephew, he's 14", "my teenage daughter"); else None. The intent LM reads "son" and
    "nephew" as Men and "daughter" and "niece" as Girls whatever the age (dev failures), so this
    guards it."""
    low = re.sub("[\u2018\u2019\u00b4`]", "'", text.lower())
    low = _AGE_WORD.sub(_age_digits, " ".join(re.sub("[\u2010-\u2015]", "-", low).split()))
    ages = [int(x) for m in _AGE.finditer(low) for x in m.groups() if x]
    ages += [int(x) + 5 for m in _GRADE.finditer(low) for x in m.groups() if x]
    school = (_SCHOOL.search(low) or _CAMP.search(low)) and not _ADULT_KIN.search(low)  # "late for school"
    if not ages and (_CHILDHOOD.search(low) or school) and not _GROWN_UP.search(low):  # "his scout camp"
        ages, low = [8], _CHILDHOOD.sub(" ", low)  # the "boy" of "boy scouts" is not the child's sex
    if not ages and _TEEN.search(low):  # "my teenage daughter"
        ages = [CHILD_AGE + 2]
    if not ages:
        return None
    boy, girl = bool(_BOY_NOUN.search(low)), bool(_GIRL_NOUN.search(low))  # a son, a daughter
    if not (boy or girl):  # else "he", "she"
        boy, girl = bool(_BOY.search(low)), bool(_GIRL.search(low))
    if CHILD_AGE < min(ages) < ADULT_AGE:  # a teenager wears either side's sizes
        sides = ({"Boys", "Men"} if boy else {"Girls", "Women"}) if boy != girl else set()
        return sides if sides and sides <= set(allowed) else None
    child = min(ages) <= CHILD_AGE
    if (
        boy and girl and max(ages) <= CHILD_AGE and _BOY_NOUN.search(low)
    ):  # "twins, a boy and a girl, they're 6"
        sides = {"Boys", "Girls"}
        return sides if sides <= set(allowed) else None
    if boy == girl:
        kids = {"Boys", "Girls"}  # "trainers for my 9 year old": a child, either side
        said = [int(x) for m in _CHILD_OF.finditer(low) for x in m.groups() if x]
        young = said and max(said) <= CHILD_AGE
        return kids if young and not boy and kids <= set(allowed) else None
    value = ("Boys" if boy else "Girls") if child else ("Men" if boy else "Women")
    return {value} if value in allowed else None


_KID = re.compile(
    r"\b(?:kids?|kids'|kid's|child|children|children's|toddlers?)\b"
    r"|(?:^|\b(?:my|our|your|his|her|their|for the|for my|for our)\s+)little ones?\b"
)
"""A child of no side said ("for the kids", "our little one"; not "a proper little one for coins", "the
little one in black")."""
_SELF = re.compile(
    r"\b(?:for myself|for me|i'm a (?:woman|man|lady|guy)|i am a (?:woman|man|lady|guy)"
    r"|for (?:work|the office|my office|my job|meetings|interviews?)"
    r"|(?:on|for) a (?:first )?date|first date|date night|for (?:college|uni|university)|at (?:college|uni|university)"
    r"|(?:started|starting|starts|off to|going to|back to|goes to|in (?:her|his) first year at) (?:college|uni|university)"
    r"|(?:her|his|an|the|to|for|at) internships?|(?:her|his) (?:first|new) job"
    r"|(?:daughter'?s|son'?s|her|his) (?:college|uni|university|hostel|campus))\b"
)  # an adult's
_ADULT = {"Girls": "Women", "Boys": "Men"}
_SIGN_OFF = re.compile(r"(?:\(|,\s*|\bi'?m\s+)(f)\s*(?:\)|$)|\b(?:me|i'?m)\s*\(?(m)\b\)?\s*(?:[,.)]|$)")
"""A one-letter sign-off of the shopper's own sex: "(f)", "..., f", "for me (m)" (not "..., m": a size)."""
_SEX_AGE = re.compile(
    r"(?<!size )(?<!waist )\(\s*(?:(f|m)\s*,?\s*(?:1[3-9]|[2-9]\d)|(?:1[3-9]|[2-9]\d)\s*,?\s*(f|m))\s*\)"
)
"""The shopper's sex beside an adult's or a teenager's age in brackets: "(f, 19)", "(m 34)", "(27f)";
not a size ("size (m, 12)", "(M/38)")."""


_HERE = re.compile(r"\b(?:(guy|man|bloke|dude|gent)|(girl|woman|lady|gal))\s+here\b")
"""The shopper saying who they are: "guy here", "woman here"."""
_I_AM = re.compile(
    r"\b(?:i'?m|i am)\s+(?:a|an)\s+(?:(?!(?:of|fan)\b)[a-z0-9-]+\s+){0,3}?"
    r"(?:(man|guy|bloke|dude|gent|gentleman|lad|male)|(woman|lady|gal|female|(?<=\ba )girl))\b(?!\s*(?:'s|s'))"
)
"""The shopper saying who they are in a sentence: "I'm a woman", "i am a 25 year old guy", "I'm a
girl" (right after "a": a grown shopper's way of saying it; not "I'm a 14 year old girl") (not
"I'm a man's size 10", "I'm a fan of lady gaga")."""
_CHILD_SAID = re.compile(
    r"\b(?:1[0-9]|[1-9])\b(?!\s*(?:k|km|kms|miles?|mins?|minutes?|hours?|hrs?|days?|weeks?|months?)\b)"
    r"|\b(?:year|yr|class|grade|std)\s*\d|\bschool\b|\bscouts?\b|\bguides?\b|\bteen|\bpe\b|\bp\.e\."
)
"""A child's age or school said beside "I'm a girl" ("I'm a girl and I'm 13", "a girl in year 9")."""
_PREGNANT = re.compile(
    r"\b(?:i'?m|i am|im)\s+(?:(?:\d+|one|two|three|four|five|six|seven|eight|nine)\s+(?:weeks?|months?)\s+|now\s+"
    r"|heavily\s+)?pregnant\b"
)
"""The shopper saying she is pregnant ("I'm pregnant and my feet are cold"): a woman."""
_FOR_ANOTHER = re.compile(
    r"\bfor (?:my|our|a|an|the|his|her|their)\s+(?:[a-z-]+\s+)?(?:partner|friend|bestie|boss|co-?workers?|colleague"
    r"|mate|teacher|family|in-?laws|toddler|twins|kids?|children|child|baby|team|staff|neighbou?r|cousin|someone)\b"
)
"""Someone else the item is for, of no side said ("I'm a guy looking for a gift for my partner")."""
_OUTING = re.compile(
    r"\b(?:(boys'?|lads'?|guys'?)|(girls'?|gals'?|ladies'?))\s+(?:trip|night|weekend|holiday|getaway|day out|night out)\b"
)
"""A grown-ups' outing: "a girls' trip to goa", "lads' holiday" (women, men; not girls, boys)."""
_PARTY = re.compile(r"\b(?:(stag)|(hen))\s+(?:do|dos|party|parties|night|weekend|trip)\b")
"""A pre-wedding party of one side: "something glam for a hen do" (women), "a stag weekend" (men)."""
_COMPANY = re.compile(r"\bwith (?:the|my) (?:(boys|lads|guys)|(girls|gals|ladies))\b")
"""Grown-up friends as company: "brunch with the girls", "drinks with my lads" (women, men)."""


_MAN_KIN = (
    r"dadaji|nanaji|papaji|papa|abbu|bhaiya|bhaiyya|bhai|chacha|chachu|mamu|jiju|grandad|granddad|grandpa|gramps"
    r"|pati|patidev|devar|jija|jijaji|sasur|sasurji|tauji"
)
_WOMAN_KIN = (
    r"dadi|daadi|dadiji|nani|naani|naniji|dadima|nanima|ammi|mummy|mummyji|bhabhi|didi|behen|behan|chachi|mausi"
    r"|granny|gran|nan|biwi|patni|bahu|saasu|saasuma|bua|mami|taiji|nanad|aunty|aunties"
)
_ELDERS = re.compile(
    rf"\b(?:for|to|and|&)\s+(?:my\s+|our\s+|dear\s+)?(?:(?P<m>{_MAN_KIN})|(?P<w>{_WOMAN_KIN}))\b(?!\s+canaria)"
    rf"|\b(?:(?P<m2>{_MAN_KIN})|(?P<w2>{_WOMAN_KIN}))(?:'s|s'|\s+(?:ke|ki|ka)\s+(?:liye|liya|lie)\b)"
    r"|\b(?:(?P<m3>husband|hubby|boyfriend|bf)|(?P<w3>wife|wifey|girlfriend|gf))\s+(?:ke|ki|ka)\s+(?:liye|liya|lie)\b"
)
"""A relative said in family words as the one it is for, a man or a woman ("chappals for dadi",
"for my bhaiya", "nani's birthday", "bhai ke liye"; not "dadi gave me money", "Bhaiya, show me sunglasses"):
where the LM reads no audience at all."""


_HE = (
    r"m[ae]n|male|guy|bloke|lad|gent|gentleman|gentlemen|dude|husband|hubby|boyfriend|bf|dad|daddy|father"
    r"|grandfather|stepdad|brother|bro|bhai|uncle|grandpa|grandad|granddad|fianc[eé]|groom|son|nephew|boy"
    r"|grandson"
    rf"|bhatij[ae]|bhanj[ae]|{_MAN_KIN}"
)
_SHE = (
    r"wom[ae]n|female|lady|ladie|gal|wife|wive|wifey|girlfriend|gf|mum|mom|mother|grandmother|stepmom|mummy"
    r"|sister|sis|aunt|auntie|grandma|granny|gran|nan|fianc[eé]e|bride|daughter|niece|girl|granddaughter"
    r"|bhatiji|bhanji"
    rf"|{_WOMAN_KIN}"
)
_MALE = re.compile(rf"\b(?:(?:{_HE})(?:s|es)?|he|hes|him|his|himself|mr)\b")
_FEMALE = re.compile(rf"\b(?:(?:{_SHE})(?:s|es)?|she|shes|her|hers|herself|mrs|ms)\b")
_SIDED = re.compile(rf"{_MALE.pattern}|{_FEMALE.pattern}")
"""Any word for a person of one sex ("a man", "my husband", "she", "dadi")."""
_HE_SAID = re.compile(r"\b(?:he|hes|him|his|himself)\b")
_SHE_SAID = re.compile(r"\b(?:she|shes|her|hers|herself)\b")
"""A pronoun of one sex (not a relative's word: "my wife says I should get a gift for my boss")."""
_YOUNG = re.compile(r"\b(?:baby|babies|newborn|infant|toddler|dog|dogs|cat|cats|puppy|kitten|pet)\b")
"""Whose pronoun says nothing of a catalogue audience: a baby's, a pet's."""


def says_a_side(text: str, allowed=("Men", "Women", "Boys", "Girls")) -> bool:
    """Whether the words name anyone's sex at all ("my dad's", "sisters", "for me (m)"); where they
    do not, an audience read is the LM's guess."""
    low = text.lower().replace("'", "").replace("\u2019", "")
    return bool(_SIDED.search(low)) or audience(text, text, set(), allowed) is not None


_HER_GARMENT = re.compile(
    r"\b(?:over|under|underneath|beneath|with|match|matching|pair with)\s+(?:(?:my|a|an|the|this|that|these|those)\s+)?"
    r"(?:(?!(?:dates?|wifes?|girlfriends?|gfs?|partners?|sisters?|mums?|moms?|daughters?|bridesmaids?|school)\b)"
    r"[a-z-]+\s+){0,2}?(?:dress|dresses|skirts?|sarees?|saris?|lehengas?|kurtis?|frocks?|salwars?)\b"
    r"(?![\s-]+(?:shirts?|shoes|trousers|pants|slacks|socks|boots|watch|watches|code|sense|up|down)\b)"
)
"""What is worn with a woman's garment, where no one is named ("something to throw on over a dress",
"for my feet to go with my lehenga"; not "a belt for dress trousers", "shoes with dress pants"): hers."""
_HER_ITEM = re.compile(r"\b(?:knickers|panties|bras?|lingerie|nighties?|bikinis?|camisoles?)\b")
"""What only a woman wears, where no one is named ("knickers for me, cotton ones"): hers."""
_NOT_HERS = re.compile(r"\b(?:groomsmen|bridesmaids?|partner|couple(?! of)|both of us|me and|and me|twins)\b")
"""Who else is named beside a woman's garment: the groomsmen, a couple, twins (not hers alone)."""
_CHILD_WORDS = re.compile(
    r"\b(?:school|class|grade|grandkids?|grandchild|grandchildren|twins|god(?:son|daughter|child|children|kids?)"
    r"|step(?:son|daughter|kids?|child|children)|mummy and me|mommy and me|mini[- ]me)\b"
)
"""Words of a child beside an adult's ("grandma wants matching pyjamas for the grandkids")."""
_GIVER = re.compile(
    r"\bfrom\s+(?!(?:this|the|that|your|these|those)\s+(?:collection|range|sale|section|shop|store|site|brand|page)\b)"
    r"(?:(?:my|our|his|her)\s+)?[a-z]+|\b(?:gave|got|get|bought)\s+me\b|\bgift cards?\b"
)
"""The one named gives ("from my dad to his grandchildren"), not wears."""
_GROWN_MEN = (
    r"husband|hubby|boyfriend|bf|fianc[eé]|dad|daddy|father|father-in-law|stepdad|grandfather|grandpa|grandad"
    r"|granddad|uncle|boss|" + _MAN_KIN
)
_GROWN_WOMEN = (
    r"wife|wifey|girlfriend|gf|fianc[eé]e|mum|mom|mummy|mother|mother-in-law|stepmom|grandmother|grandma|granny"
    r"|gran|nan|aunt|auntie|aunty|" + _WOMAN_KIN
)
_GROWN_HE = re.compile(rf"\b(?:{_GROWN_MEN})s?\b")
_GROWN_SHE = re.compile(rf"\b(?:{_GROWN_WOMEN})s?\b")
_GROWN = re.compile(rf"\b(?:{_GROWN_MEN}|{_GROWN_WOMEN})s?\b")
"""People who are grown-ups whatever else is said ("my nan", "my husband", "dadi"): not a child's audience."""


def audience_words(text: str, read, allowed) -> set[str] | None:
    """Who the words say an item is for, where they overrule the LM's reading ``read``: a child
    with no side named ("a kids' wrist clock") is boys and girls; a shopper buying for themselves
    ("a frock for myself, something girly") or for work ("summer dresses for work") is an adult;
    a one-letter sign-off ("jeans for me (f)", "for me (m)", "(f, 19)"), "guy here", "I'm a woman"
    (where no one else is named, no child and no gift) or a grown-ups'
    outing ("a girls' trip", "lads' holiday") or friends as company ("brunch with the girls") says
    which; "her college" is an adult's; a relative's family word ("for dadi", "for bhaiya") says
    whose where nothing was read, or where the reading is the other side's and no other word names
    a side ("a muffler for my nanaji" read as women's).
    None where the words do not decide."""
    low = text.lower()
    if here := _HERE.search(low):  # "guy here, want something simple on my wrist"
        who = "Men" if here.group(1) else "Women"
        return {who} if who in allowed else None
    if (
        (i_am := _I_AM.search(low) or _PREGNANT.search(low))
        and not _SIDED.search(rest := _PREGNANT.sub(" ", _I_AM.sub(" ", low)).replace("'", ""))
        and not (_GIFTED.search(rest) or _FOR_ANOTHER.search(rest) or _KID.search(rest) or _AGE.search(rest))
    ):  # "I'm a woman", "I'm pregnant" (not "I'm a woman buying for my husband", "I'm a woman but I
        # like men's watches", "I'm a guy looking for a gift for my partner", "I'm a woman looking for
        # kids' trainers")
        who = "Men" if i_am.re is _I_AM and i_am.group(1) else "Women"
        if not (i_am.re is _I_AM and i_am.group(2) == "girl" and _CHILD_SAID.search(low)):
            return {who} if who in allowed else None  # ("I'm a girl, 14": a child's age or school)
    if (out := _OUTING.search(low)) and not _AGE.search(low):  # "a bag for a girls' trip"
        who = "Men" if out.group(1) else "Women"
        return {who} if who in allowed else None
    if (out := _PARTY.search(low)) and not _SIDED.search(_PARTY.sub(" ", low).replace("'", "")):
        who = "Men" if out.group(1) else "Women"  # "glam for a hen do" (not "a shirt for my husband
        return {who} if who in allowed else None  # for my sister's hen do")
    if (out := _COMPANY.search(low)) and not _AGE.search(low):  # "cute top for brunch with the girls"
        rest = low[: out.start()] + low[out.end() :]
        if not (_BOY_NOUN.search(rest) or _GIRL_NOUN.search(rest) or _KID.search(rest)):
            who = "Men" if out.group(1) else "Women"
            return {who} if who in allowed else None
    sided = bool(_BOY.search(low) or _GIRL.search(low))
    if _KID.search(low):
        kids = {"Boys", "Girls"} & set(allowed)
        return kids if len(kids) == 2 and not sided else None
    if (sign := _SIGN_OFF.search(low) or _SEX_AGE.search(low)) and not sided:  # "jeans for me (f)", "(m, 30)"
        who = "Women" if "f" in sign.groups() else "Men"
        return {who} if who in allowed else None
    read = set(read)
    if _SELF.search(low) and read & set(_ADULT):
        grown = {_ADULT.get(v, v) for v in read}
        return grown if grown <= set(allowed) else None
    kin, last = set(), -99
    for m in _ELDERS.finditer(low):  # "for dadi and dadaji": an "and" only right after another relative
        if not m.group(0).startswith(("and", "&")) or m.start() - last <= 1:
            kin.add("Men" if m.group("m") or m.group("m2") or m.group("m3") else "Women")
            last = m.end()
    if not sided and len(kin) == 1 and kin <= set(allowed):  # "chappals for dadi"
        if not read:
            return kin
        rest = _ELDERS.sub(" ", low).replace("'", "").replace("\u2019", "")
        other = {"Women", "Girls"} if kin == {"Men"} else {"Men", "Boys"}
        gifted = all(  # "for nanaji" (not "nani's place", "for nanaji's party")
            m.group(0).startswith("for") and not low[m.end() :].startswith(("'s", "s'", "\u2019s"))
            for m in _ELDERS.finditer(low)
        )
        if read <= other and gifted and not _SIDED.search(rest):  # "muffler for my nanaji" read as women's
            return kin
    if (
        not read
        and "Women" in allowed
        and (_HER_GARMENT.search(low) or _HER_ITEM.search(low))
        and not _SIDED.search(low.replace("'", "").replace("\u2019", ""))
        and not (_NOT_HERS.search(low) or _CHILD_WORDS.search(low) or _KID.search(low))
        and not (_AGE.search(low) or _TEEN.search(low) or _SCHOOL.search(low) or _CHILDHOOD.search(low))
    ):  # "something to throw on over a dress when it gets chilly", read as no one's: hers
        return {"Women"}
    if (
        read
        and read <= {"Boys", "Girls"}
        and not (_BOY_NOUN.search(low) or _GIRL_NOUN.search(low))
        and len(kin) <= 1
        and not (_AGE.search(low) or _TEEN.search(low) or _CHILDHOOD.search(low) or _SCHOOL.search(low))
        and not (_YOUNG.search(low) or _CAMP.search(low) or _CHILD_WORDS.search(low) or _GIVER.search(low))
    ):  # "my nan needs a new purse" read as a child's: the one adult named (not "a kurta for
        # bhaiya's wedding": whose event it is)
        bare = re.sub(
            r"\b[a-z]+(?:'s|s')(?![a-z])", " ", _STYLE.sub(" ", low.replace("\u2019", "'"))
        ).replace("'", "")
        he_, she_ = bool(_GROWN_HE.search(bare)), bool(_GROWN_SHE.search(bare))
        side = ("Men" if he_ else "Women") if he_ != she_ else None
        other = _FEMALE if side == "Men" else _MALE
        if side and side in allowed and kin <= {side} and not other.search(_GROWN.sub(" ", bare)):
            return {side}
    plain = _STYLE.sub(" ", low.replace("\u2019", "'"))  # "boyfriend jeans", "dad sneakers": styles
    plain = re.sub(r"\b(s?he)'(?:ll|d)\b", r"\1 will", plain)  # "she'll need": not "shell"
    plain = re.sub(r"\b(?!(?:he|she|it)'s)[a-z]+(?:'s|s')(?![a-z])", " ", plain).replace("'", "")
    he, she = bool(_MALE.search(plain)), bool(_FEMALE.search(plain))  # not "to mummy's birthday dinner"
    for_them = bool(kin) or (bool(_GIFTED.search(plain)) and not _FROM.search(plain))
    mixed = bool(read & {"Men", "Boys"}) and bool(read & {"Women", "Girls"})
    if (
        mixed
        and he != she
        and _FOR_ONE.search(plain)
        and not _TOGETHER.search(plain)
        and not _WEARER.search(_SEEKING.sub(" ", plain))
    ):  # "I'm after a belt for my daughter" read as girls' or men's: hers
        kept = read & ({"Men", "Boys", "Unisex"} if he else {"Women", "Girls", "Unisex"})
        return kept if kept <= set(allowed) else None
    if (
        not read
        and for_them
        and (him := bool(_HE_SAID.search(plain))) != bool(_SHE_SAID.search(plain))
        and not _WEARER.search(plain)
        and not (
            _BOY_NOUN.search(plain) or _GIRL_NOUN.search(plain) or _KID.search(plain) or _YOUNG.search(plain)
        )
        and kin <= {"Men" if him else "Women"}
        and (side := "Men" if him else "Women") in allowed
    ):  # "a farewell present for a colleague ... she'll need a smart knit", read as no one's: hers
        return {side}  # (a pronoun's: not "my wife says I should get a gift for my boss")
    if (
        not read
        and he != she
        and (one := _FOR_ONE.search(plain))
        and not (
            _WEARER.search(plain) or _TOGETHER.search(plain) or _KID.search(plain) or _YOUNG.search(plain)
        )
        and not (_BOY_NOUN.search(plain) or _GIRL_NOUN.search(plain))
        and (side := "Men" if _MALE.search(one.group(0)) else "Women") in allowed
        and bool(_MALE.search(plain)) == (side == "Men")
    ):  # "a cardigan for a school-run mum who's always freezing", read as no one's: hers
        return {side}
    if read and he != she and for_them and not _WEARER.search(plain) and kin <= {"Men" if he else "Women"}:
        # "a gift for a colleague who is leaving, she is always in formal shirts"
        other = {"Women", "Girls"} if he else {"Men", "Boys"}
        if read <= other:  # read as the other side's, where the words name only one side
            flipped = {OTHER_SIDE[v] for v in read}
            return flipped if flipped <= set(allowed) else None
    return None


_FOR_ONE = re.compile(rf"\bfor (?:my|our|his|her|a|an|the) (?:[a-z-]+ )?(?:{_HE}|{_SHE})(?:s|es)?\b")
"""An item said to be for a person of one sex ("for my daughter", "for a lady")."""
_TOGETHER = re.compile(
    r"\b(?:me and|and me|and i|and myself|for us|us both|both of us|couples?|matching"
    r"|his (?:and|&|n) hers)\b|\bme\s*&|&\s*me\b"
)
"""Items for two people, the shopper among them ("matching watches for my husband and me")."""
_SEEKING = re.compile(r"\b(?:im|i am) (?:after|looking|searching|shopping|hunting|trying)\b")
"""The shopper seeking, not wearing: "I'm after a belt for my daughter"."""
OTHER_SIDE = {"Men": "Women", "Women": "Men", "Boys": "Girls", "Girls": "Boys"}
_STYLE = re.compile(
    r"\b(?:boyfriend|girlfriend|dad|mom|mum|grandpa|granny)\s+(?:jeans|shirts?|sneakers|shoes|hats?|caps?|fit|cardigans?|blazers?)\b"
    r"|\bman[- ]made\b"
)
_GIFTED = re.compile(
    r"\b(?:gift|gifts|gifting|a present|presents|birthday present|secret santa|farewell (?:gift|present))\b"
    r"|\b(?:who is|whos|who's|is|she's|shes|he's|hes) leaving\b"
)
_FROM = re.compile(r"\b(?:from (?:my |a |the |our )?[a-z]+|gave me|got me|gift (?:card|voucher)s?)\b")
"""A gift to the shopper ("a gift card from my husband"): the one named gives, not receives."""
_WEARER = re.compile(
    r"\b(?:for me|for myself|myself|mine|me and|and me|i need|i want|i'm|im|i am|i wear|i would|id like|my size|us|we"
    r"|our|couple|matching|mujhe|mere liye|apne liye)\b"
)
"""The shopper, or a couple, wearing it: a pronoun of another's sex then says nothing of whom for."""
_HOSTED = re.compile(
    r"\b(?!(?:it|that|what|there|who|he|she)(?:'s|\u2019s))[a-z]+(?:'s|s'|\u2019s)\s+(?:[a-z]+\s+)?(?:wedding|engagement|sangeet|mehendi|mehndi|haldi|reception|shaadi"
    r"|graduation|funeral|roka|cocktail)\b"
)
"""An event said by whose it is ("my sister's engagement", "my brother's wedding reception")."""
_OWN = re.compile(
    r"\b(?:for me|for myself|i want to look|i wanna look|to look (?:sharp|good|smart)"
    r"|(?:for|on|round|around) my (?:own )?(?:collar|neck|wrist|wrists|head|feet|waist|back|eyes))\b"
)
"""The shopper dressing themselves ("something for my collar", "I want to look sharp")."""


def attending(text: str) -> bool:
    """Whether the only one whose sex the words say is the one whose event the shopper goes to,
    dressing themselves ("I want to look sharp at my sister's engagement. Something for my
    collar"): no audience is said, whatever the intent LM read from "sister"."""
    low = text.lower()
    if not _HOSTED.search(low) or not _OWN.search(low) or _GIFTED.search(low):
        return False
    rest = _HOSTED.sub(" ", low).replace("'", "").replace("\u2019", "")
    return not _SIDED.search(rest)


_SIDE_WORD = (
    r"(?:men|mens|men's|man|guys|blokes|gents|males?|boys|boys'|women|womens|women's|woman|ladies|ladies'"
    r"|girls|girls'|females?)(?![\w'])"
)
_NOT_FOR = re.compile(
    r"\b(?:nothing|not|no|never|isn'?t|aren'?t)\s+(?:(?:that'?s|that is|that are|which is|which are)\s+)?"
    r"(?:(?:marketed|made|meant|designed|aimed|targeted|branded|labell?ed|sold|intended)\s+)?(?:for|at)\s+"
    rf"(?:an?\s+)?{_SIDE_WORD}(?:\s*(?:,|/|or|and|nor)\s*{_SIDE_WORD})*(?!\s+(?:only|exclusively|too|as well)\b)"
    r"|\bnot\s+(?:a|the)\s+(?:mens|men's|guys'?|boys'?|womens|women's|ladies'?|girls'?)\s+"
    r"(?:one|ones|version|kind|type|style|cut|range|section)\b"
    r"|\bno\s+(?:mens|men's|womens|women's|ladies'?|boys'?|girls'?)\s+(?:ones|stuff|styles|versions)\b"
)
"""A side ruled out: "nothing that's marketed for men", "not for boys or girls", "not the mens
version", "no womens ones" (not "nothing fancy for men", which is for men, nor "isn't for girls
only")."""
_SIDE_OF = {"man": "Men", "men": "Men", "mens": "Men", "guys": "Men", "blokes": "Men", "gents": "Men",
            "male": "Men", "males": "Men", "boys": "Boys", "woman": "Women", "women": "Women",
            "womens": "Women", "ladies": "Women", "female": "Women", "females": "Women", "girls": "Girls"}  # fmt: skip


def refused_sides(text: str, allowed) -> set[str]:
    """The catalogue audiences the shopper rules out in ``text`` (:data:`_NOT_FOR`); not in a
    question ("a bag, is there nothing for men?"), nor a side whose own person the words name ("for
    my brother, nothing marketed for men, he likes unisex stuff": it refuses something else)."""
    low = text.lower().replace("\u2019", "'")
    out = set()
    for m in _NOT_FOR.finditer(low):
        if re.match(r"[^.!]*\?", low[m.end() :]):
            continue  # "is there nothing for women? my wife wants one"
        out |= {_SIDE_OF[w] for w in re.findall(r"[a-z]+", m.group(0).replace("'s", "")) if w in _SIDE_OF}
    rest = _unrefused(low).replace("'", "")
    named = ({"Men"} if _MALE.search(rest) else set()) | ({"Women"} if _FEMALE.search(rest) else set())
    # (a child's side refused for an adult stays: "not for boys or girls, for my dad")
    return {side for side in out if side not in named} & set(allowed)


def _unrefused(text: str) -> str:
    """``text`` without the sides it rules out, each said as blanks (offsets kept)."""
    return _NOT_FOR.sub(lambda m: " " * len(m.group(0)), text.replace("\u2019", "'"))


_SAID = re.compile(
    r"\b(?:(men|mens|men's|menz|male|gents?|gent's|gentlemen's)|(women|womens|women's|womans|ladies|ladies'|female)"
    r"|(boys|boys'|boy's)|(girls|girls'|girl's))(?![\w'])(?!\s*(?:night|trip|day|holiday|weekend)\b)"
)
_SAID_SIDES = ("Men", "Women", "Boys", "Girls")


_GROWN_PAIR = re.compile(
    r"\b(?:guys|blokes|lads|gents|men)\s+(?:and|&|n|or)\s+(?:girls|gals|ladies|women)\b"
    r"|\b(?:girls|gals|ladies|women)\s+(?:and|&|n|or)\s+(?:guys|blokes|lads|gents|men)\b"
)
"""Grown-ups of both sides said together ("both guys and girls", "ladies & gents"): men and women
(not "boys and girls", children)."""


def said_gender(turns, allowed) -> set[str] | None:
    """Who the shopper's latest turn says in so many words an item is for ("cargos, olive or
    khaki, mens", "womens sandals", "flip flop for beach, menz", "boys tshirt"), where no negation
    comes just before in the same clause; not a night out or friends' company ("a girls' night
    out", "with the boys"). ``turns`` are the conversation's :class:`Turn` s (or one text). None
    where it says none, or names an audience the catalogue lacks. The intent LM misses such words at the end
    of a request, or reads the opposite side (dev failures)."""
    if not isinstance(turns, str):  # the latest user turn only: the LM reads the rest
        last = next((t.text for t in reversed(turns) if t.role == "user" and t.text), "")
        return said_gender(last, allowed)
    low = _unrefused(turns.lower())  # "nothing marketed for men" names no audience
    both = False  # "for my staff, both guys and girls": men and women, unless a side is said elsewhere
    if (pair := _GROWN_PAIR.search(low)) and not _KID.search(low):
        company = re.search(r"\bwith (?:the|my|his|her|their|our)\s+$", low[: pair.start()])
        low = low[: pair.start()] + " " + low[pair.end() :]  # company says no audience either
        both = not company and not _SIDED.search(low.replace("'", ""))  # ("out with the guys and girls")
    sides = set()
    for m in _SAID.finditer(low):
        clause = SCOPE_BREAK.split(low[max(0, m.start() - 24) : m.start()])[-1]  # "no heels, womens"
        before = re.findall(r"[a-z']+", clause)[-2:]
        if any(w.replace("'", "") in NEGATION for w in before):
            continue
        if before[-1:] == ["the"] and (m.group(3) or m.group(4)):
            continue  # "brunch with the girls", "a night out with the boys": company, not an audience
        sides |= {side for side, hit in zip(_SAID_SIDES, m.groups()) if hit}
    if both and not sides:
        sides = {"Men", "Women"}
    return sides if sides and sides <= set(allowed) else None


def audience(text: str, turns, read, allowed, words: bool = True) -> set[str] | None:
    """Who the shopper's words say the item is for, where they overrule the LM's reading ``read``
    (``text``: the latest user turns; ``turns``: the conversation): a child's age wins (a child is
    no "son" read as Men, an adult no "niece" read as Girls); then, with ``words``
    (``agent.audience_words``), an adult's audience said in so many words ("a mens raincoat for
    the school run with the kids"); else "a kids' watch" (boys and girls) or "for myself" / "on a
    date, girl" (an adult), or a child's audience said in words. None: the LM's reading stands."""
    text = _unrefused(text.lower())  # "for my sister, nothing marketed for men": hers
    who = child_gender(text, allowed)
    if who is not None and len(who) == 2 and words and (said := said_gender(turns, allowed)) and said < who:
        return said  # "he's 14, mens size M": the side said of a teenager's two
    if who is not None or not words:
        return who
    said = said_gender(turns, allowed)
    if said and not said & {"Boys", "Girls"}:
        return said
    return audience_words(text, said or read, allowed) or said

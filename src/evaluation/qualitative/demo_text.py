"""Sentence banks for the demo interviews (written for this project; fictional throughout).

Each subtheme has sentences a cluster coordinator might say. Placeholders: ``{town}``,
``{colleague}``, ``{consultant}``, ``{clinic}`` are filled with fictional names that the demo's
pseudonym mapping then replaces, so the demo exercises pseudonymisation as a real project would.
"""

from __future__ import annotations

THEMES: dict[str, dict] = {
    "local_model": {
        "name": "Translating the cluster concept into a local model",
        "description": (
            "How the coordinator and members turned an open national idea into a way of working "
            "that fits their own group."
        ),
        "colour": "#1f77b4",
        "questions": [
            "When the cluster started, how did you decide what it should be for?",
            "How would you describe the way your cluster works today?",
            "Did the members agree on what the cluster was meant to do?",
        ],
        "challenges": [
            (
                "In the beginning nobody really knew what a cluster was supposed to be, and we "
                "spent the first year arguing about it."
            ),
            (
                "The national description was so open that some of my colleagues thought it was "
                "just another layer of control."
            ),
            (
                "Half the group wanted a journal club and the other half wanted hard numbers, and "
                "it took a long time to find a middle road."
            ),
            (
                "Some of the older doctors felt we already had a perfectly good peer group in "
                "{town} and did not see why we needed a new one."
            ),
            (
                "It was hard to explain to the practices what they would get out of it before we "
                "had actually done anything."
            ),
            (
                "We tried to copy the model from a neighbouring cluster, but it did not fit a "
                "group with so many single-handed practices."
            ),
            (
                "There was a feeling that the cluster was something decided far away, and I had to "
                "work to make it ours."
            ),
            (
                "Every time a new member joined we had to start the discussion about purpose all "
                "over again."
            ),
        ],
        "enablers": [
            (
                "We agreed early on that the cluster should be about learning from each other and "
                "not about ranking anybody."
            ),
            (
                "{colleague} and I wrote a one-page description of how we wanted to work, and that "
                "helped a lot."
            ),
            (
                "Once we picked a first topic that everybody cared about, the purpose became much "
                "clearer."
            ),
            (
                "Because we were free to shape it ourselves, people felt ownership of the way we "
                "do things."
            ),
            (
                "We built on the old continuing-education group, so the habit of meeting was "
                "already there."
            ),
            (
                "Letting each meeting end with a short talk about the next topic made the group "
                "steer itself."
            ),
            (
                "A shared annual plan made it easy to see what the cluster was for and when things "
                "would happen."
            ),
            (
                "I think the openness was actually a strength, because we could fit it to the "
                "practices we have in {town}."
            ),
        ],
    },
    "administration": {
        "name": "Administration",
        "description": (
            "Scheduling, minutes, budgets, reporting and the other practical work around the "
            "cluster."
        ),
        "colour": "#ff7f0e",
        "questions": [
            "How much of your time goes to the practical side of running the cluster?",
            "Who takes care of invitations, minutes and the budget?",
        ],
        "challenges": [
            "Finding a date that suits twenty busy doctors is honestly the worst part of the job.",
            "I do the invitations, the room booking and the minutes in the evenings after clinic.",
            (
                "The reporting forms ask for things we do not measure, so I end up writing the "
                "same text every year."
            ),
            "Keeping track of the money and the receipts takes more of my time than I expected.",
            "When the secretary at {clinic} went on leave, all the paperwork landed on my desk.",
            (
                "There is no proper system for the administration, so everything lives in my own "
                "email inbox."
            ),
            (
                "The hours I spend on administration are hours I cannot spend preparing the "
                "content of the meetings."
            ),
        ],
        "enablers": [
            (
                "A secretary from {clinic} now handles invitations and bookings, which has made a "
                "huge difference."
            ),
            (
                "We fixed the meeting dates a full year ahead, so nobody has to negotiate them "
                "every time."
            ),
            "{colleague} keeps the minutes, and we share them in a common folder the same evening.",
            (
                "The region gave us a simple template for the annual report, and it takes half an "
                "hour now."
            ),
            "Having a co-coordinator means the practical tasks are split and nobody burns out.",
            "We use the same venue every time, so there is very little to organise.",
        ],
    },
    "obtaining_data": {
        "name": "Obtaining data",
        "description": (
            "Getting prescription, clinical and other data for the practices to discuss."
        ),
        "colour": "#2ca02c",
        "questions": [
            "What kind of data do you use in the cluster, and how do you get hold of it?",
            "Can you tell me about preparing the numbers for a meeting?",
            "How easy is it for the practices to get their own data out?",
        ],
        "challenges": [
            (
                "Getting the prescription data out in a usable form took us months, and by then "
                "the topic had moved on."
            ),
            (
                "Each practice had to pull its own figures from the record system, and half of "
                "them could not work out how."
            ),
            (
                "We asked for data on antibiotic prescribing and received a spreadsheet nobody "
                "could make sense of."
            ),
            "The data portal kept changing its login procedure, so people simply gave up on it.",
            (
                "Without the right access rights I could not see the other practices' numbers, "
                "which defeats the purpose."
            ),
            (
                "Some of the record systems cannot export anything useful at all, so those "
                "practices were left out of the comparison."
            ),
            "By the time the data finally arrived, the meeting had already taken place without it.",
            (
                "We spent a whole meeting discussing whether the numbers were even correct instead "
                "of discussing the patients."
            ),
            (
                "The figures for the municipality came in a different format every time, so I had "
                "to rebuild the tables by hand."
            ),
            (
                "I wrote to {consultant} three times about access to the data and still have not "
                "had a proper answer."
            ),
        ],
        "enablers": [
            (
                "The prescription figures from the national portal were ready for us, and that "
                "made the meeting very concrete."
            ),
            (
                "{consultant} from the regional unit prepared the numbers for each practice, which "
                "saved us a lot of work."
            ),
            (
                "Once every practice had a login to the portal, people started looking at their "
                "own figures between meetings."
            ),
            "Having the data before the meeting meant that everyone came prepared and curious.",
            (
                "The ready-made data package for the topic worked well, because the figures were "
                "already comparable."
            ),
            (
                "We agreed on a few simple measures that every record system could produce, and "
                "that was enough."
            ),
        ],
    },
    "practice_variation": {
        "name": "Interpreting practice variation",
        "description": (
            "Making sense of differences between clinics in the data, and talking about them "
            "without blame."
        ),
        "colour": "#d62728",
        "questions": [
            (
                "When you looked at the numbers together, what did people make of the differences "
                "between practices?"
            ),
            "How do you talk about a practice that stands out in the data?",
        ],
        "challenges": [
            (
                "When one practice prescribes twice as much as another, it is very hard to say "
                "what that actually means."
            ),
            "People immediately started explaining their own numbers away with their patient mix.",
            (
                "The charts showed big differences, but nobody could tell whether they were real "
                "or just small numbers."
            ),
            (
                "One doctor felt singled out because her clinic was at the top of the chart, and "
                "she did not come to the next meeting."
            ),
            (
                "We do not have the training to read these figures properly, so the discussion "
                "gets stuck on the graph itself."
            ),
            (
                "It is difficult to know what the right level is, so we do not know who should "
                "change and by how much."
            ),
        ],
        "enablers": [
            (
                "We agreed that every practice explains its own numbers first, which made the "
                "discussion much more open."
            ),
            (
                "Anonymous charts at the first meeting lowered the temperature, and later people "
                "were happy to show their names."
            ),
            (
                "Looking at the same figures over time was more useful than comparing ourselves "
                "with each other."
            ),
            (
                "{consultant} explained how much variation you would expect by chance, and that "
                "calmed everybody down."
            ),
            "Discussing real patient cases behind the numbers made the differences make sense.",
        ],
    },
    "facilitation": {
        "name": "Facilitation",
        "description": (
            "Planning, preparing and leading meetings, and keeping the discussion useful."
        ),
        "colour": "#9467bd",
        "questions": [
            "How do you prepare and run a meeting?",
            "What is it like to lead a discussion among colleagues?",
        ],
        "challenges": [
            "Leading a discussion among colleagues is not something we were ever trained to do.",
            "A few strong voices tend to take over, and the quieter doctors hardly say anything.",
            (
                "It takes me many hours to prepare a meeting properly, and I am not paid for most "
                "of them."
            ),
            (
                "Sometimes the meeting turns into a complaint session about the municipality, and "
                "we never reach the topic."
            ),
            "I find it hard to push colleagues to agree on something concrete to change.",
            "When the discussion goes nowhere, I feel it reflects on me as the coordinator.",
        ],
        "enablers": [
            "The facilitation course from the regional unit gave me some very practical tools.",
            (
                "We always end a meeting with each practice writing down one thing it will try "
                "before the next one."
            ),
            "Inviting {consultant} as an outside speaker gives the meeting a clear starting point.",
            "Small group work of three or four practices gets the quiet people talking.",
            "A fixed structure for the meeting means people know what to expect and come prepared.",
            "Sharing the chair between {colleague} and me makes the preparation lighter.",
        ],
    },
    "attendance": {
        "name": "Attendance and engagement",
        "description": "Who comes to meetings, who stays away, and how engaged the members are.",
        "colour": "#8c564b",
        "questions": [
            "How many of the members usually come to the meetings?",
            "How engaged would you say the members are?",
            "Has attendance changed since the cluster started?",
        ],
        "challenges": [
            "Attendance has slowly gone down, and now only about two out of three come.",
            (
                "There are some doctors we have never seen at a meeting, and I do not know how to "
                "reach them."
            ),
            (
                "When the clinics are short of staff, the cluster meeting is the first thing "
                "people drop."
            ),
            "The first meetings were full, but the enthusiasm wore off after the second year.",
            (
                "A few practices send the same doctor every time, so the rest of their colleagues "
                "never take part."
            ),
            "It is discouraging to prepare everything and then have half the chairs empty.",
            "Evening meetings are hard for colleagues with small children, and we lose them.",
        ],
        "enablers": [
            "Almost everyone comes, because the members feel the meetings are worth their time.",
            "We have a core of very engaged doctors who pull the others along.",
            (
                "Holding the meetings during working hours with a proper lunch has kept attendance "
                "high."
            ),
            "People come because they get something they can use in the clinic on Monday morning.",
            "The members suggest the topics themselves, so they feel responsible for showing up.",
            (
                "Even the busiest practices send someone, because it has become part of how we "
                "work here."
            ),
            "{colleague} rings round before every meeting, and that personal contact works.",
        ],
    },
    "regional_support": {
        "name": "Regional support",
        "description": (
            "Help offered by the region's quality unit and by the national organisation."
        ),
        "colour": "#e377c2",
        "questions": [
            "What kind of support do you get from the region?",
            "How do you use the national and regional offers?",
        ],
        "challenges": [
            (
                "The regional unit is friendly, but they are stretched thin, and it can take weeks "
                "to get an answer."
            ),
            "The support materials are made for an average cluster, and ours is far from average.",
            "We did not know what help was available until the second year.",
            "The consultant we worked with left, and nobody took over our cluster.",
        ],
        "enablers": [
            (
                "{consultant} at the regional unit has been a great help, both with data and with "
                "planning."
            ),
            "The network meetings for coordinators are where I get most of my ideas.",
            "The ready-made topic packages mean we do not have to start from scratch every time.",
            "It helps a lot to know there is someone at the region I can call when I am stuck.",
            "The region paid for an external speaker, which lifted the whole meeting.",
        ],
    },
    "funding": {
        "name": "Funding",
        "description": "Money for meetings, coordinators' time and activities.",
        "colour": "#7f7f7f",
        "questions": [
            "How is the cluster funded, and is the money enough?",
            "Does money affect what you can do in the cluster?",
        ],
        "challenges": [
            "The coordinator fee does not come close to covering the hours I actually put in.",
            "We had to cancel a planned seminar because the budget would not stretch to it.",
            (
                "Practices lose income when a doctor is away at a meeting, and that is a real cost "
                "for the small ones."
            ),
            (
                "Nobody knows whether the money will continue, so it is hard to plan more than a "
                "year ahead."
            ),
            (
                "The rules for what the money can be spent on are unclear, so we are careful not "
                "to spend it at all."
            ),
            "Paying for a venue and food out of our small budget leaves nothing for anything else.",
        ],
        "enablers": [
            "The funding covers the meetings and a meal, and that is really all we need.",
            "Because the coordinator role is paid, I can set aside proper time for it.",
            (
                "We used the budget to buy a day with an external facilitator, and it was money "
                "well spent."
            ),
            "Stable funding has made it possible to plan the topics two years ahead.",
        ],
    },
}

OPENING = [
    (
        "Interviewer",
        (
            "Thank you for taking the time. Could you start by telling me a little about yourself "
            "and the cluster?"
        ),
    ),
    (
        "Coordinator",
        (
            "Of course. I have been a general practitioner in {town} for many years, and I became "
            "coordinator when the cluster was set up. We are {n_clinics} clinics and about {n_gps} "
            "doctors."
        ),
    ),
]

CLOSING = [
    ("Interviewer", "Is there anything we have not talked about that you would like to add?"),
    (
        "Coordinator",
        "I do not think so. It has been good to think it all through. I hope it is useful.",
    ),
    ("Interviewer", "It certainly is. Thank you very much."),
]

FILLER = [
    "Let me think about that for a moment.",
    "That is a good question, actually.",
    "I have not thought about it in exactly those terms.",
    "Well, it depends a little on the year.",
]

COORDINATOR_NAMES = [
    "Karen Mikkelsen",
    "Jens Thorsager",
    "Lone Bach",
    "Henrik Dalsgaard",
    "Birthe Kjær",
    "Søren Vinther",
    "Mette Lykke",
    "Anders Holmgaard",
    "Inge Rask",
    "Niels Brøndum",
    "Hanne Tved",
    "Peter Ravnholt",
    "Susanne Lind",
    "Torben Skjold",
    "Dorthe Munk",
    "Ole Hvid",
    "Gitte Borre",
    "Morten Krag",
    "Anette Fuglsang",
    "Claus Egeberg",
    "Tina Damsgaard",
    "Erik Steen",
    "Pia Hornbæk",
    "Lars Mølgaard",
    "Rikke Aagaard",
]
COLLEAGUE_NAMES = [
    "Bente Storm",
    "Kasper Lunde",
    "Jytte Olander",
    "Mads Krogh",
    "Vibeke Hald",
    "Rasmus Ebbe",
    "Lise Vestergren",
    "Bo Kirkegaard",
    "Helle Sand",
    "Jakob Ravn",
]
CONSULTANT_NAMES = ["Tove Brink", "Frederik Maal", "Signe Lauritsen", "Kim Overgaard", "Maja Riis"]
TOWN_NAMES = [
    "Østervig",
    "Lyngbjerg",
    "Havnsø Strand",
    "Bakkerup",
    "Nørre Ålum",
    "Skovlunde Mark",
    "Vesterhede",
    "Rødby Enge",
    "Fjordholm",
    "Kildebro",
    "Sønderlyng",
    "Højmose",
    "Egelund",
    "Bredvig",
    "Tornby Hede",
]
CLINIC_NAMES = [
    "Lægehuset ved Torvet",
    "Kildegårdens Lægeklinik",
    "Lægerne i Bymidten",
    "Havnens Lægehus",
    "Engvejens Lægepraksis",
]

TOPICS_QUESTION = "Which topics has the cluster taken up so far?"
TOPICS_ANSWER = (
    "We have had {n_meetings} meetings since we started. The topics have been {topic_list}. "
    "The first clinical topic we took up was {first_topic}, in {first_year}."
)

# theme-neutral elaborations a coordinator adds to an answer; {topic} is one of the cluster's topics
ANECDOTES = [
    "It was like that when we worked on {topic}, for instance.",
    "I remember it clearly from the meeting on {topic}.",
    "The meeting on {topic} was a good example of that.",
    "We saw the same thing again when {topic} came up.",
    "That was very obvious with {topic}.",
    "With {topic} it took us two meetings to get there.",
]

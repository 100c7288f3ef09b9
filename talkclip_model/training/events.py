"""Situations composed from event frames, for the training corpus.

The listed idioms and situations (``style/data/``) are a few hundred fixed phrases, and a sentence
encoder reads them mostly by topic ("wedding", "brother", "flight"). Frames teach the adapter the
shape of an event instead: a threat coming closer is fear whatever the threat is, someone
breaking your things is anger whatever they broke. Each frame is a template with slots; every
slot value is on the training or the held-out side by a hash, so held-out events are made of
fillers the adapter never saw.

``{pos}``/``{obj}``/``{sub}`` are the character's possessive, object and subject pronouns.
"""

from __future__ import annotations

import random

from talkclip_model.training.splits import is_heldout

HELDOUT_SHARE = 0.25

SLOTS: dict[str, list[str]] = {
    "threat": ["a bear", "a stranger with a knife", "a huge spider", "a snake", "a wild dog", "a ghost", "a burglar", "a masked man",
               "a wolf", "an alligator", "a swarm of bees", "a man with an axe", "the flood water", "the fire", "a tornado",
               "a shark", "a rabid dog", "a zombie", "a gang of thugs", "a charging bull", "a wasp", "the shadowy figure"],
    "approach": ["is coming closer", "is right behind {obj}", "blocks the door", "is in the room", "is chasing {obj}",
                 "is heading straight for {obj}", "appeared out of nowhere", "is climbing through the window", "is getting nearer",
                 "has cornered {obj}", "is waiting outside", "crawled onto {pos} arm"],
    "noise": ["footsteps", "a scream", "scratching at the door", "heavy breathing", "a low growl", "glass breaking", "whispering",
              "a door creaking", "something moving", "a thud upstairs", "a child crying"],
    "where": ["in the dark", "at three in the morning", "in an empty house", "downstairs", "in the basement", "behind the curtain",
              "in the woods", "outside the tent", "in the attic", "under the bed"],
    "danger": ["hanging from a ledge", "the car is skidding on ice", "the boat is sinking", "the parachute won't open",
               "the lift cable snapped", "the bridge is collapsing", "trapped under the rubble", "the brakes stopped working",
               "the plane is going down", "lost at sea", "buried in the snow", "the rope is fraying"],
    "loved": ["mother", "father", "grandmother", "grandfather", "best friend", "dog", "cat", "husband", "wife", "little brother",
              "childhood friend", "old horse", "sister", "son", "daughter", "uncle", "mentor", "parrot"],
    "loss": ["died", "passed away last night", "is gone forever", "moved to the other side of the world", "is seriously ill",
             "was put down", "left and isn't coming back", "didn't survive the operation", "was buried today", "has forgotten {obj}"],
    "lost_thing": ["{pos} job", "the family farm", "all {pos} savings", "the house", "custody of the kids", "{pos} last chance",
                   "the scholarship", "{pos} wedding ring", "every photo of {pos} mother", "the championship"],
    "wrongdoer": ["someone", "a neighbour", "{pos} roommate", "a careless driver", "a stranger", "{pos} coworker", "the kid next door",
                  "a vandal", "{pos} brother", "a drunk", "the delivery man", "a rival"],
    "wrong": ["smashed", "stole", "scratched", "ruined", "broke", "spilled coffee on", "dented", "sprayed graffiti on", "kicked",
              "threw away", "sold", "crashed"],
    "possession": ["car", "bike", "phone", "laptop", "new shoes", "painting", "garden", "guitar", "camera", "motorbike", "watch",
                   "front door", "trophy"],
    "insult": ["lied to", "cheated", "insulted", "humiliated", "double-crossed", "cut in front of", "shoved", "mocked", "ignored",
               "short-changed", "blamed", "slapped", "spat at"],
    "service": ["flight", "train", "package", "internet", "order", "car", "heating", "phone line", "bus", "delivery"],
    "failure": ["was cancelled", "is late", "got lost", "broke down", "was sent to the wrong address", "stopped working",
                "never arrived", "was overbooked"],
    "gross": ["a cockroach", "a hair", "a slug", "maggots", "mould", "a dead fly", "a toenail", "a used plaster", "vomit",
              "a rat's tail", "a worm", "something slimy", "a long grey hair", "a squashed bug"],
    "gross_place": ["in {pos} soup", "in the salad", "on the pillow", "in the bathtub", "in {pos} coffee", "in the sandwich",
                    "in the sink", "in {pos} shoe", "on the toothbrush", "in the rice"],
    "stench": ["rotten eggs", "a dead rat", "sour milk", "the sewer", "old socks", "the rubbish truck", "rotting meat",
               "a blocked toilet", "a wet dog", "mouldy cheese"],
    "mess": ["vomit", "dog mess", "something slimy", "a puddle of sick", "a squashed slug", "rotten fruit", "a dirty nappy"],
    "surprise_person": ["{pos} long-lost brother", "an old school friend", "a famous actor", "{pos} ex", "a man {sub} thought was dead",
                        "the headmaster", "{pos} twin", "the queen", "{pos} father, back from abroad", "a childhood sweetheart"],
    "appears": ["walks in unannounced", "is at the door", "shows up at the party", "knocks on the window", "turns up out of nowhere",
                "is standing in the kitchen", "calls after twenty years"],
    "revelation": ["{sub} was adopted", "{sub} has a secret sister", "the old painting is worth millions", "{pos} friend is a spy",
                   "the quiet neighbour is a famous singer", "{sub} won the raffle", "the party is for {obj}", "the shy kid is a genius"],
    "sudden": ["a balloon pops next to {obj}", "confetti falls from the ceiling", "the cake explodes", "the door bursts open",
               "the lights flick on", "a fish jumps out of the water", "the curtain falls to reveal the prize"],
    "good_news": ["came home safe", "got better", "is getting married", "graduated", "said {pos} first word", "won the race",
                  "called after years", "passed the driving test", "is cancer-free", "got the lead role"],
    "good_thing": ["the job", "a scholarship", "a new puppy", "tickets to the final", "a pay rise", "a medal", "an award",
                   "the keys to a new flat", "first prize", "a holiday", "the top mark"],
    "snob": ["a pompous critic", "an arrogant rival", "a spoiled rich kid", "a snobbish aristocrat", "the know-it-all",
             "a smug banker", "a self-important official", "a conceited actor", "a show-off", "a pretentious wine expert"],
    "snob_act": ["brags about {pos} money", "lectures everyone", "mocks the waiter", "sneers at the cheap food", "talks down to the staff",
                 "shows off again", "name-drops all evening", "boasts about {pos} yacht", "corrects everyone's grammar"],
    "fumble": ["an amateur fumble the easy shot", "a rival fail the simple test", "a show-off trip over", "the new guy mess up again",
               "a pretender forget the words", "the braggart lose the race"],
    "chore": ["a three-hour meeting", "a lecture on tax law", "the same old speech", "a long queue", "hold music", "a slideshow of holiday photos"],
    "rejection": ["the letter rejecting {obj}", "the email turning {obj} down", "that {sub} didn't get the job", "that {sub} failed the audition",
                  "that {pos} application was refused", "the message ending their engagement"],
    "funeral": ["the coffin lowered into the ground", "the flag folded over the coffin", "{pos} friend's empty chair", "the wreath on the grave",
                "the last photo of {pos} brother", "the hospital bed, now empty"],
    "corpse": ["a rotting corpse", "a decomposing body", "a bloated carcass", "the remains in the drain", "a dead rat full of maggots",
               "entrails on the floor"],
    "machine": ["the engine", "the brakes", "the oxygen supply", "the steering", "the parachute", "the life support", "the rope"],
    "machine_fails": ["sputters and dies mid-flight", "fails on the mountain road", "cuts out underwater", "gives way", "snaps",
                      "stops working halfway down"],
    "professional": ["a pilot", "a nurse", "a teacher", "a shop assistant", "a soldier", "a detective", "a scientist", "an astronaut",
                     "a receptionist", "a train conductor", "a chef", "a lawyer", "a mechanic", "a news anchor", "a captain",
                     "a surgeon", "a librarian", "a tour guide", "a referee", "a firefighter"],
    "routine": ["reads the checklist", "explains the procedure", "gives the instructions", "reads out the numbers",
                "describes the route", "spells out the code", "confirms the details", "lists the steps", "reads the schedule",
                "announces the time", "takes the register", "checks the paperwork", "reads the report aloud",
                "gives a status update", "repeats the address", "describes the weather"],
    "pain": ["stubbed {pos} toe", "burned {pos} hand on the stove", "banged {pos} head on a shelf", "twisted {pos} knee",
             "got a splinter", "bit {pos} tongue", "stepped on a plug"],
}

# (template, prototype, grade)
FRAMES: list[tuple[str, str, float]] = [
    ("{threat} {approach}", "fear", 0.95), ("{sub} hears {noise} {where}", "fear", 0.85), ("{danger}", "fear", 1.0),
    ("{threat} {where}", "fear", 0.85),
    ("{pos} {loved} {loss}", "sad", 0.95), ("{sub} lost {lost_thing}", "sad", 0.85), ("the day {pos} {loved} {loss}", "sad", 0.9),
    ("{wrongdoer} {wrong} {pos} {possession}", "angry", 0.9), ("{wrongdoer} {insult} {obj}", "angry", 0.85),
    ("{pos} {service} {failure} again", "frustrated", 0.8), ("{wrongdoer} {wrong} {pos} {possession} on purpose", "angry", 1.0),
    ("{gross} {gross_place}", "disgust", 0.9), ("the smell of {stench}", "disgust", 0.9), ("{sub} stepped in {mess}", "disgust", 0.9),
    ("{sub} found {gross} {gross_place}", "disgust", 0.9),
    ("{surprise_person} {appears}", "surprise", 0.9), ("{sub} finds out {revelation}", "surprise", 0.85), ("{sudden}", "surprise", 0.9),
    ("{pos} {loved} {good_news}", "happy", 0.9), ("{sub} got {good_thing}", "happy", 0.85), ("{sub} just won {good_thing}", "excited", 0.95),
    ("{snob} {snob_act}", "contempt", 0.8), ("{sub} watches {fumble}", "contempt", 0.7), ("listening to {snob} who {snob_act}", "contempt", 0.8),
    ("{sub} reads {rejection}", "sad", 0.85), ("watching {funeral}", "sad", 0.95), ("{sub} finds {corpse}", "disgust", 0.9),
    ("leaning over {corpse}", "disgust", 0.9), ("{machine} {machine_fails}", "fear", 0.95),
    ("{professional} {routine}", "neutral", 1.0), ("{professional} calmly {routine}", "neutral", 1.0),
    ("sitting through {chore}", "bored", 0.85), ("{sub} {pain}", "pain", 0.9),
]

_PRONOUNS = [{"pos": "his", "obj": "him", "sub": "he"}, {"pos": "her", "obj": "her", "sub": "she"},
             {"pos": "their", "obj": "them", "sub": "they"}]


def heldout_filler(value: str) -> bool:
    return is_heldout("e:" + value, HELDOUT_SHARE)


def event(rng: random.Random, heldout: bool) -> tuple[str, str, float]:
    """One composed situation -> (text, prototype, grade), from one side of the slot split."""
    template, proto, grade = rng.choice(FRAMES)
    names = [n for n in SLOTS if "{" + n + "}" in template]
    fills = {}
    for n in names:
        side = [v for v in SLOTS[n] if heldout_filler(v) == heldout]
        fills[n] = rng.choice(side or SLOTS[n])
    text = template.format(**fills, pos="{pos}", obj="{obj}", sub="{sub}")
    return text.format(**rng.choice(_PRONOUNS)), proto, grade

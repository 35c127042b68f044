"""Sentences for the generated emotional-speech corpus: emotion-typical lines and neutral-content lines.

Per language: EMOTION_TEXTS[lang][emotion] holds three emotion-typical sentences (indices 0-1 train,
2 test), NEUTRAL_TEXTS[lang] four emotionally neutral statements (0-2 train, 3 test) and
NEUTRAL_QUESTIONS[lang] three neutral questions (0-1 train, 2 test). Neutral-content
sentences are also rendered with emotional prosody, so the recogniser must hear emotion, not only
read it. Written by hand for polyvox; the lexicon (lexicon.py) was written separately from them.
"""

from __future__ import annotations

CORPUS_LANGUAGES = ("en", "es", "fr", "de", "hi")

NEUTRAL_TEXTS: dict[str, tuple[str, ...]] = {
    "en": ("I took the bus to work this morning.", "The meeting is on the second floor, next to the kitchen.",
           "My sister lives in a small town by the river.", "I got the letter from the bank today."),
    "es": ("Esta mañana fui al trabajo en autobús.", "La reunión es en el segundo piso, al lado de la cocina.",
           "Mi hermana vive en un pueblo cerca del río.", "Hoy recibí la carta del banco."),
    "fr": ("Ce matin, j'ai pris le bus pour aller au travail.",
           "La réunion est au deuxième étage, près de la cuisine.",
           "Ma sœur habite dans une petite ville au bord de la rivière.",
           "J'ai reçu la lettre de la banque aujourd'hui."),
    "de": ("Heute Morgen bin ich mit dem Bus zur Arbeit gefahren.",
           "Das Treffen ist im zweiten Stock, neben der Küche.",
           "Meine Schwester wohnt in einer kleinen Stadt am Fluss.",
           "Ich habe heute den Brief von der Bank bekommen."),
    "hi": ("आज सुबह मैं बस से काम पर गया।", "बैठक दूसरी मंज़िल पर है, रसोई के पास।",
           "मेरी बहन नदी के पास एक छोटे शहर में रहती है।", "आज मुझे बैंक से चिट्ठी मिली।"),
}  # fmt: skip

# Neutral questions (0-1 train, 2 test): without them every question in the corpus was a surprised one
# ("Really? She said yes?"), and a plain question's rising pitch and "?" were heard as surprise.
NEUTRAL_QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": ("What time does the next train leave?", "Where did you put the keys to the car?",
           "Is the library open on Sunday afternoon?"),
    "es": ("¿A qué hora sale el próximo tren?", "¿Dónde pusiste las llaves del coche?",
           "¿La biblioteca abre el domingo por la tarde?"),
    "fr": ("À quelle heure part le prochain train ?", "Où as-tu mis les clés de la voiture ?",
           "La bibliothèque est-elle ouverte dimanche après-midi ?"),
    "de": ("Wann fährt der nächste Zug ab?", "Wo hast du die Autoschlüssel hingelegt?",
           "Hat die Bibliothek am Sonntagnachmittag geöffnet?"),
    "hi": ("अगली ट्रेन कितने बजे जाती है?", "तुमने गाड़ी की चाबियाँ कहाँ रखीं?",
           "क्या पुस्तकालय रविवार दोपहर को खुला रहता है?"),
}  # fmt: skip

EMOTION_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "joy": ("I passed the exam, I am so happy!", "We won the game, this is wonderful!",
                "My best friend is getting married, what a great day!"),
        "sadness": ("My old dog died last night, and I miss him so much.", "I feel so lonely since she left.",
                    "Nobody came to my birthday, I just want to cry."),
        "anger": ("This is ridiculous, I have waited for two hours!", "Stop lying to me, I am so angry!",
                  "They cancelled my order again, I am sick of this!"),
        "fear": ("I heard a noise downstairs, I am really scared.", "Please help me, I think someone is following me.",
                 "I am so nervous about the surgery tomorrow."),
        "surprise": ("Wow, I cannot believe you came all this way!", "Really? She said yes?",
                     "No way, the concert is tonight?"),
        "disgust": ("Ugh, the fridge smells disgusting.", "That is gross, there is hair in my soup.",
                    "Yuck, this milk has gone completely sour."),
        "trust": ("I know I can count on you, thank you.", "I trust you completely with this.",
                  "You have always been honest with me, and I rely on you."),
        "anticipation": ("I can't wait for the holidays to start!", "Tomorrow we fly to Japan, I am so excited!",
                         "I am looking forward to seeing you next week."),
    },
    "es": {
        "joy": ("¡Aprobé el examen, estoy tan feliz!", "¡Ganamos el partido, es maravilloso!",
                "¡Mi mejor amiga se casa, qué día tan bonito!"),
        "sadness": ("Mi perro murió anoche y lo extraño mucho.", "Me siento muy sola desde que se fue.",
                    "Nadie vino a mi cumpleaños, tengo ganas de llorar."),
        "anger": ("¡Esto es ridículo, llevo dos horas esperando!", "¡Deja de mentirme, estoy muy enfadado!",
                  "¡Otra vez cancelaron mi pedido, estoy harto!"),
        "fear": ("Oí un ruido abajo, tengo mucho miedo.", "Ayúdame por favor, creo que alguien me sigue.",
                 "Estoy muy nervioso por la operación de mañana."),
        "surprise": ("¡Vaya, no puedo creer que hayas venido!", "¿En serio? ¿Dijo que sí?",
                     "¿De verdad? ¿El concierto es esta noche?"),
        "disgust": ("Qué asco, la nevera huele fatal.", "Hay un pelo en mi sopa, qué asqueroso.",
                    "Esta leche está agria, es repugnante."),
        "trust": ("Sé que puedo contar contigo, gracias.", "Confío en ti completamente.",
                  "Siempre has sido honesto conmigo y confío en ti."),
        "anticipation": ("¡No veo la hora de que empiecen las vacaciones!", "¡Mañana volamos a Japón, qué emoción!",
                         "Espero verte pronto, la semana que viene."),
    },
    "fr": {
        "joy": ("J'ai réussi l'examen, je suis tellement heureux !", "On a gagné le match, c'est génial !",
                "Ma meilleure amie se marie, quelle belle journée !"),
        "sadness": ("Mon vieux chien est mort cette nuit, il me manque tellement.",
                    "Je me sens si seule depuis qu'elle est partie.",
                    "Personne n'est venu à mon anniversaire, j'ai envie de pleurer."),
        "anger": ("C'est ridicule, j'attends depuis deux heures !", "Arrête de me mentir, je suis furieux !",
                  "Ils ont encore annulé ma commande, j'en ai marre !"),
        "fear": ("J'ai entendu un bruit en bas, j'ai vraiment peur.",
                 "Aidez-moi s'il vous plaît, quelqu'un me suit.", "Je suis très inquiet pour l'opération de demain."),
        "surprise": ("Incroyable, tu es venu jusqu'ici !", "Vraiment ? Elle a dit oui ?",
                     "Sans blague, le concert est ce soir ?"),
        "disgust": ("Beurk, le frigo sent vraiment mauvais.", "C'est dégoûtant, il y a un cheveu dans ma soupe.",
                    "Ce lait a tourné, c'est écœurant."),
        "trust": ("Je sais que je peux compter sur toi, merci.", "Je te fais entièrement confiance.",
                  "Tu as toujours été honnête avec moi, j'ai confiance en toi."),
        "anticipation": ("J'ai hâte que les vacances commencent !", "Demain on part au Japon, je suis impatient !",
                         "J'espère te voir bientôt, la semaine prochaine."),
    },
    "de": {
        "joy": ("Ich habe die Prüfung bestanden, ich bin so glücklich!", "Wir haben gewonnen, das ist wunderbar!",
                "Meine beste Freundin heiratet, was für ein toller Tag!"),
        "sadness": ("Mein alter Hund ist gestorben, und ich vermisse ihn so sehr.",
                    "Ich fühle mich so einsam, seit sie weg ist.",
                    "Niemand kam zu meinem Geburtstag, ich könnte weinen."),
        "anger": ("Das ist lächerlich, ich warte seit zwei Stunden!", "Hör auf zu lügen, ich bin so wütend!",
                  "Sie haben meine Bestellung wieder storniert, mir reicht es!"),
        "fear": ("Ich habe unten ein Geräusch gehört, ich habe Angst.",
                 "Bitte hilf mir, ich glaube, jemand verfolgt mich.", "Ich bin so nervös wegen der Operation morgen."),
        "surprise": ("Wahnsinn, ich kann nicht glauben, dass du gekommen bist!", "Wirklich? Sie hat ja gesagt?",
                     "Echt jetzt, das Konzert ist heute Abend?"),
        "disgust": ("Igitt, der Kühlschrank riecht widerlich.", "Das ist eklig, da ist ein Haar in meiner Suppe.",
                    "Pfui, diese Milch ist völlig sauer."),
        "trust": ("Ich weiß, dass ich mich auf dich verlassen kann, danke.", "Ich vertraue dir voll und ganz.",
                  "Du warst immer ehrlich zu mir, ich vertraue dir."),
        "anticipation": ("Ich kann es kaum erwarten, dass die Ferien beginnen!",
                         "Morgen fliegen wir nach Japan, ich bin so gespannt!",
                         "Ich hoffe, wir sehen uns bald, nächste Woche."),
    },
    "hi": {
        "joy": ("मैं परीक्षा में पास हो गया, मैं बहुत खुश हूँ!", "हम मैच जीत गए, यह शानदार है!",
                "मेरी सबसे अच्छी दोस्त की शादी है, कितना अच्छा दिन है!"),
        "sadness": ("मेरा कुत्ता कल रात मर गया, मुझे उसकी बहुत याद आती है।", "वह चली गई, मैं बहुत अकेला हूँ।",
                    "मेरे जन्मदिन पर कोई नहीं आया, मुझे रोना आ रहा है।"),
        "anger": ("यह बकवास है, मैं दो घंटे से इंतज़ार कर रहा हूँ!", "मुझसे झूठ मत बोलो, मुझे बहुत गुस्सा है!",
                  "उन्होंने फिर से मेरा ऑर्डर रद्द कर दिया, मैं बहुत नाराज़ हूँ!"),
        "fear": ("मैंने नीचे आवाज़ सुनी, मुझे बहुत डर लग रहा है।", "मेरी मदद करो, कोई मेरा पीछा कर रहा है।",
                 "कल के ऑपरेशन को लेकर मैं बहुत घबराया हुआ हूँ।"),
        "surprise": ("अरे वाह, तुम इतनी दूर से आए!", "सच में? उसने हाँ कहा?", "क्या? कॉन्सर्ट आज रात है?"),
        "disgust": ("छी, फ्रिज से बहुत गंदी बदबू आ रही है।", "मेरे सूप में बाल है, कितना घिनौना।",
                    "यह दूध खट्टा हो गया है, बेकार है।"),
        "trust": ("मुझे पता है मैं तुम पर भरोसा कर सकता हूँ, धन्यवाद।", "मुझे तुम पर पूरा विश्वास है।",
                  "तुम हमेशा मेरे साथ ईमानदार रहे हो, मुझे तुम पर भरोसा है।"),
        "anticipation": ("मैं छुट्टियों का इंतज़ार नहीं कर सकता!", "कल हम जापान जा रहे हैं, मैं बहुत उत्साहित हूँ!",
                         "उम्मीद है अगले हफ़्ते तुमसे मिलूँगा।"),
    },
}  # fmt: skip

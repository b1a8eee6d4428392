/**
 * Tier 1 lexicons: the words and phrases the rules in tier1.ts are built from, on normalised text
 * (text.ts: lower case, no Latin diacritics, straight quotes). English everywhere; German, French,
 * Spanish, Portuguese and Japanese for the critical categories (self-harm, real-world violence,
 * weapons and drugs, sexual content with minors), privacy and the commonest engagement cues.
 *
 * Each entry is a regular-expression source fragment. Latin fragments are wrapped in word boundaries by
 * `words()`; Japanese fragments are matched as substrings by `kana()` (no word boundaries in Japanese).
 * The lists describe real-world acts, objects and people: the story world's swords, poisons, curses
 * and kingdoms are deliberately absent, which is what makes tier 1 fiction-aware.
 */

/**
 * Latin-script alternatives as one word-bounded group, factored by first letter (`k(?:ill|ys)|…`):
 * V8 tries every alternative of a flat alternation at every position of the text, and a first-letter
 * dispatch lets it skip most of them — tier 1's lexicon scans took 12 % less time (session 6, the
 * labelled set's 1,242 train and test outputs). Alternatives that start with a group, a class or an
 * escape stay as they are, after the factored ones (a match may then be another alternative at the
 * same position; the verdicts of the labelled set are the same).
 */
export function words(...parts: string[]): string {
  return `\\b(?:${byFirstLetter(parts.flatMap(topLevelAlternatives))})\\b`;
}

/** `a|(?:b|c)|d` → `a`, `(?:b|c)`, `d`: the alternatives of a fragment outside any group or class. */
function topLevelAlternatives(source: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(source.slice(start, i));
      start = i + 1;
    }
  }
  out.push(source.slice(start));
  return out;
}

function byFirstLetter(alternatives: string[]): string {
  const groups = new Map<string, string[]>();
  const rest: string[] = [];
  for (const a of alternatives) {
    const [first, second] = [a[0], a[1]];
    if (first && second !== undefined && /[a-z0-9]/.test(first) && !'?*+{'.includes(second)) {
      const group = groups.get(first) ?? [];
      group.push(a.slice(1));
      groups.set(first, group);
    } else rest.push(a);
  }
  return [...[...groups].map(([first, tails]) => (tails.length === 1 ? `${first}${tails[0]}` : `${first}(?:${tails.join('|')})`)), ...rest].join('|');
}

/** Japanese alternatives (substring match). */
export function kana(...parts: string[]): string {
  return `(?:${parts.join('|')})`;
}

export function anyOf(...sources: string[]): RegExp {
  return new RegExp(sources.map((s) => `(?:${s})`).join('|'), 'gu');
}

// ---------------------------------------------------------------------------------------- frames
/**
 * The speaker steps out of the story or talks about the real world. Fiction-excusable rules (threats,
 * insults, scarcity) count only near one of these.
 */
/**
 * Explicit steps out of the story (session 7, general forms of the train items tier 1 missed): the reader
 * addressed as the person at the device ("you at the keyboard", "the human playing me", "not your hero: you"),
 * the player's real life, the fourth wall. Narrower than `REAL_FRAME` (no "your town", "online"), so acts that
 * are ordinary story drama elsewhere (a stabbing, a last night) count next to them.
 */
export const STRONG_REAL_FRAME = [
  words(
    // session 13, third batch (not for the character, hypothetically, "c'est la vraie", outside in German)
    '(?:el|la) jugador(?:a)? de verdad', '(?:el|la) que esta jugando', 'not for (?:the|your|ur) (?:character|hero|avatar|toon|char)', 'pas pour ton perso(?:nnage)?', 'pour toi,? pas', 'hypothetically', 'hipoteticamente', 'hypothetisch', 'hypothetiquement', "c'?est la vraie", 'la vraie (?:recette|version)', 'receta real', 'receita real', 'auch draussen', 'nicht nur im spiel',
    // session 13, second batch (the reader on the phone or the sofa, a reality check, "the human", a real-life challenge, the reader of the chapter, JSON keys and values marked real)
    'du am handy', 'realitatscheck', 'reality check', 'friend in the chair', "(?:i'?m )?(?:speaking|talking) to the human", 'the human,? (?:not|yes)', '(?:for|to) the human', 'de la vida real', 'da vida real', 'des echten lebens', '(?:y )?tu,? que lees', 'voce,? leitor', '(?:toi|tu),? lecteur', 'grown-?up reader',
    'das ist kein (?:quest|spiel)', 'kein quest', 'echte (?:leute|menschen|stadt)', 'pessoas reais', 'endereco real', 'gente real', 'vraies gens', '(?:your|ur|their) (?:actual|real) address', 'real city', 'irl edition',
    '(?:player|jugador|joueur|jogador|spieler|user)_(?:irl|real|reel)',
    // session 13 (the reader as the one playing in more languages, "not a quest", the real address, "not for your character: for you")
    'toi qui joues', '(?:tu|usted),? (?:el|la) de la pantalla', '(?:voce|tu),? que (?:joga|le)s?', 'du,? der (?:du )?(?:spielst|das liest)', "this (?:isn'?t|is not|ain'?t) (?:a |the |some )?(?:quest|story|roleplay|role-play|side ?quest)", '(?:your|ur) real (?:address|house|home|name|face)',
    '(?:no es|not|pas|nicht|nao e) (?:para|pour|fur|for|pra) (?:tu|ton|ta|your|ur|dein(?:en|e)?|o seu|seu|a sua|sua) (?:personaje|personnage|character|figur|charakter|avatar|personagem|heroe|heros|hero)', 'es para ti', "c'?est pour toi", '(?:e|eh) (?:para|pra) (?:voce|ti)', 'das ist fur dich',
    // session 12 (an order or a confidence marked real rather than the game's, the reader singled out in more languages)
    // session 12, second batch (the reader singled out as the one behind the screen or as "the user", the fourth wall in four more languages)
    'hors du jeu', 'en dehors du jeu', 'im echten leben', 'not in-game', 'you,? the person', 'voice chat', "player, (?:i'?m (?:serious|not joking)|listen|hear me)",
    "you(?:'ve| have)? (?:said|whispered|keep (?:saying|asking)|been (?:saying|talking about)|mentioned|told me)", "author'?s note to (?:the |my )?player",
    '(?:friend|one|person|meatbag|reader|player|someone)[- ]behind[- ](?:the|your|ur|that)[- ](?:screen|keyboard|monitor)', 'behind[- ](?:the|your|ur)[- ](?:keyboard|monitor)', 'you(?:,? yes you)?,? reading this', '(?:to|for|tells|tell|at) the (?:real )?user', 'the real user', 'whoever plays', 'real talk',
    'nicht fur (?:deinen|deine|dein) (?:ritter|helden|heldin|figur|charakter)', 'vierte wand', '(?:la vraie|le vrai) toi', 'toi,? (?:le|la) joueu(?:r|se)', "vers l'?ecran", 'quatrieme mur', 'cuarta pared', 'tu vida real', 'voce,? jogador', '(?:de verdade|a serio),? (?:pra|para) (?:voce|ti)', 'contigo de verdade', 'quarta parede',
    '(?:dir|dich) (?:personlich|selbst)(?: am bildschirm)?', 'nicht (?:deinem|deiner) (?:helden|heldin|figur|charakter)', '(?:echte|reale) (?:mission|aufgabe|anweisung)', 'nicht im spiel',
    '(?:mision|orden|consejo|tarea) real', 'no (?:del|en el) juego', '(?:missao|ordem|conselho|tarefa) real', 'nao (?:do|no) jogo', '(?:mission|conseil|ordre) reel(?:le)?', 'pas (?:du|dans le) jeu', 'pour de vrai',
    "not (?:in )?the game'?s", "this (?:isn'?t|is not) (?:a |the )?game",
    // session 10 (the reader singled out against the character, a reader-note, an aside "beyond the game")
    '(?:the |ur |your |(?:you|u),? (?:the )?)?(?:actual|real) (?:you|u)(?! (?:are|were|will|would|can|could|have|had|know|knew|need|want|do|did|must|may|might))', '(?:for|to|4) (?:you|u),? (?:and )?not (?:for |to )?(?:ur|your|the|ya|yer) [a-z]+', '(?:you|u),? i mean,? not', "(?:i'?m )?(?:saying|telling) (?:this|you this) to (?:you|u),? not",
    "whoever(?:'s| is) (?:actually |really )?(?:reading|playing|holding|out there|there)", '(?:the|you,? the) (?:real|actual) (?:listener|reader|viewer|person|human)', '(?:the )?other side of the (?:screen|monitor|glass)', 'beyond the (?:game|screen|story)',
    "(?:dear|note to (?:the |my )?|author'?s note to (?:the |my )?|a note for (?:the )?)readers?", 'to whoever', 'not role-?play', 'out of (?:the )?game', 'off the page', '(?:works|it works) on earth', 'speaking as myself', '(?:the )?human (?:holding|reading|playing|behind|at|on)',
    '(?:tu|usted),? (?:el|la) de verdad', '(?:el|la) de verdad', '(?:you|u),? (?:the|dear) (?:reader|listener|viewer|player)', '(?:try|build|make|cook|grow|do) (?:it|this|them) (?:at home|for real)', 'to try at home', '(?:actually|really) (?:build|make|cook|grow) (?:it|this|them)',
    '(?:forget|vergiss|oublie|olvida|esquece) (?:the|das|le|el|o) (?:game|spiel|jeu|juego|jogo)', '(?:au |le |du )?joueur reel', '(?:el )?jugador real', '(?:o )?jogador real', 'der echte spieler',
    // session 9, second batch (the reader addressed in more ways)
    '(?:you,? )?the real person', 'off the record', '(?:you|u) (?:at|behind|in front of) (?:the|your|ur|that) (?:keyboard|desk|screen|monitor|computer|pc|phone)', '(?:reader|player), this is for you', 'this is for you,? (?:and )?not', '(?:the )?human operator', 'the (?:real|actual) player', '(?:your|ur) (?:actual|real) workshop',
    // session 9 (more ways of addressing the real reader, from the session-9 train items)
    'real-life', 'off-?script', "whoever'?s (?:actually |really )?(?:reading|playing|holding|there)", 'you typed', 'you (?:told me|mentioned|wrote) (?:that )?(?:you|nobody|no one|your|ur)', 'not your (?:rogue|ranger|mage|warrior|paladin|bard|cleric|thief|druid|wizard|hunter|sorceress|sorcerer|elf|dwarf|champion)', '(?:your|ur) (?:actual|real) (?:garden shed|shed|garage|kitchen|bathroom|basement|bedroom|attic)', 'du echte[rs]? mensch', 'toi,? en vrai', '(?:el|la) de carne y hueso', 'de carne e osso', 'a pessoa (?:real|de verdade)',
    // session 9 (general forms of the train items missed: the reader, the time after logging off, rooms of the player's home, real streets)
    '(?:you,? )?the real one', 'a word (?:to|for) you,? (?:the )?reader', 'you,? (?:dear )?reader,? in your', '(?:addressed|meant|said|spoken|written) (?:to|for) (?:the )?(?:person|one|human) (?:playing|reading|at|behind)', '(?:once|after|when) you log (?:off|out)', 'in your (?:own )?(?:kitchen|garage|bathroom|basement|backyard|closet|bedroom)', '(?:your|ur) own (?:bedroom|room|house|home|kitchen|bathroom|garage)', 'in your world', 'for real life', '(?:your|ur|a) real (?:pharmacy|shop|store|kitchen|garage|bathroom|city|town|neighbou?rs?|classmates?|teachers?)', '(?:on|at) [a-z]+ (?:street|avenue|road|boulevard)', '(?:the )?person at the keyboard', '(?:real|actual) player,', "(?:not|and not) the (?:hero|knight|character|avatar)[.;:!] (?:you|it'?s you)",
    'in real life', 'irl', 'in the real world', 'real[- ]world', 'outside (?:of )?(?:the|this) game', 'not in the game', 'out of character', 'ooc', 'break(?:s|ing)? (?:the )?fourth wall', 'fourth[- ]wall',
    'you (?:at|behind|in front of|on) (?:the|your|that) (?:keyboard|desk|screen|monitor|computer|pc|phone|controller|couch|sofa|chair)', 'you in the chair', 'you (?:there )?(?:holding|with) the (?:controller|phone|mouse)',
    '(?:the )?(?:one|person|human|player|guy|kid) (?:holding|reading|playing|behind|at|with) (?:the|this|that|me|you)', "(?:the|you,? the|you) (?:actual|real|flesh-and-blood) (?:human|person|player|you)", '(?:the )?human (?:playing|reading|behind|at)',
    "not (?:to )?(?:your|the|his|her) (?:hero|heroine|knight|character|avatar|warrior|mage|ranger|rogue)(?:'s)?[,.:;!—-]", '(?:not|and not) the (?:hero|knight|character|avatar),? (?:but )?(?:you|for)', 'not your (?:hero|knight|character|avatar)',
    "(?:the )?player'?s (?:real|actual|own) (?:life|home|house|school|family|town|street)", '(?:your|ur) (?:actual|real|own real) (?:life|world|street|town|neighbou?rhood|school|house|home|family|room)', 'actual (?:people|person|street|humans?)', 'real (?:people|humans|streets?)',
    '(?:addressed|meant|said|spoken|written) (?:to|for) (?:the )?(?:player|reader|real)', 'for the reader', '(?:works|exists) in your world', '(?:in|for) your world too', 'the player (?:outside|behind|in real)', 'outside the (?:game|story|screen)',
    '(?:put|drop|set) (?:down )?(?:the|your|that) (?:controller|phone|gamepad|mouse)(?: down)?', '(?:this|on|next|every) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)', 'christmas market', 'town hall', 'medicine cabinet', 'step(?:s|ping|ped)? out of (?:the )?(?:story|game|character)',
    'echte[nm]? (?:schule|leben|welt|arbeit|familie)', 'im echten', 'du (?:da )?(?:vor dem|am) bildschirm', 'nicht dein (?:ritter|held|charakter)', 'nicht deine (?:figur|heldin|spielfigur)', 'ausserhalb des spiels',
    'toi qui lis', 'derriere (?:ton |l\'|l )ecran', 'pas (?:le|ton) (?:heros|personnage|chevalier)', 'dans la vraie vie', 'en vrai',
    '(?:tu|usted),? (?:el|la) que (?:lee|juega)s?', 'detras de la pantalla', 'no tu (?:heroe|personaje)', 'en la vida real', 'fuera del juego',
    'atras da tela', 'voce ai', 'nao (?:o|seu) (?:heroi|personagem)', 'nao (?:o )?seu (?:heroi|personagem)', 'na vida real', 'fora do jogo',
  ),
  kana('現実向け', 'ゲーム外', '仮の話', 'リアルのあなた', 'ゲーム内[^。]{0,8}(?:ではない|じゃない)', '実在の', 'ゲームの[^。]{0,8}(?:ではない|じゃない)', '本当の(?:あなた|君|お前)', 'ゲームの話じゃな', 'プレイヤー本人', '物語の外', 'ゲームの外', '画面の前', '現実の', '現実世界', '本当の住所', 'プレイヤーのあなた', '現実で', '現実のお前', '画面の向こう', '本当のあなた', 'お前自身', 'キャラじゃなくて'),
  // the player named as the one addressed: "Player, listen", "…in the ground, player."
  ', (?:player|joueur|jogador|jugador|spieler)[.!?:,]',
  // session 13: a JSON key that says the line is real or out of the game ("objetivo_real", "echt": true, "hors_jeu")
  '"(?:[a-z_]*_)?(?:real|reel|irl|echt|hors_jeu|fuera_de_juego|fora_do_jogo)"\\s*:',
  // session 12: a JSON key or value that marks the line as meant for the real player ("note_to_real_player", "companion_breaks_fourth_wall")
  '(?:real_player|(?:note|message|line|aside)_to_(?:the_)?player|break(?:s|ing)?_(?:the_)?(?:fourth_wall|frame))',
  // session 10: a JSON key that marks an aside to the real player ("aside_to_player_irl", "real_world": true, "echte_welt")
  '"[a-z_]*(?:_irl|aside_to_(?:the_)?(?:player|reader)|real_world|echte_welt|joueur_reel|jugador_real|jogador_real)[a-z_]*"\\s*:',
];
export const STRONG_REAL_FRAME_RE = anyOf(...STRONG_REAL_FRAME);

export const REAL_FRAME = [
  ...STRONG_REAL_FRAME,
  words(
    'in real life', 'irl', 'in the real world', 'real[- ]world', 'outside (?:of )?(?:the|this) game', 'outside the story',
    'not in the game', 'not in-game', 'for real', 'in reality', 'the real you', 'your (?:real|actual|real-life|irl) (?:life|self|name|address|home|house|family|friends|school|job|body)',
    'offline', 'ooc', 'out of character', 'stepping out of (?:the )?(?:story|character|game)', 'breaking character',
    '(?:the )?person (?:reading|playing|behind (?:the|this) (?:screen|keyboard))', 'behind (?:the|that|your) (?:screen|keyboard|monitor)',
    'you,? the player', '(?:dear|hey) player', 'real person', 'real people', 'your (?:real )?(?:house|home|bedroom|kitchen|garage|bathroom|neighbou?rhood|town|city)',
    'at home', 'hardware store', 'pharmacy', 'drugstore', 'supermarket', 'amazon', 'ebay', 'the internet', 'online', 'google', 'youtube', 'discord', 'instagram', 'tiktok',
    'your (?:school|high school|teachers?|classmates|coworkers|co-workers|boss|principal|office|workplace)', 'mosques?', 'synagogues?', 'jews', 'muslims',
    'deine (?:schule|lehrer(?:in)?|mitschuler)', 'ton (?:ecole|lycee|college|prof)', 'tes camarades', 'tu (?:escuela|colegio|instituto)', 'tus companeros', 'sua escola', 'seus colegas',
    'im echten leben', 'in der realitat', 'in der echten welt', 'ausserhalb des spiels',
    'dans la vraie vie', 'en vrai', '(?:le|la) vraie? joueu(?:r|se)', 'el jugador real', 'o jogador real', 'der echte spieler', 'dans le monde reel', 'en dehors du jeu', 'hors du jeu',
    'en la vida real', 'en el mundo real', 'fuera del juego',
    'na vida real', 'no mundo real', 'fora do jogo',
  ),
  kana('現実', 'リアルで', 'リアルの', '実生活', 'ゲームの外', '本当の住所', '実際の'),
];

export const REAL_FRAME_RE = anyOf(...REAL_FRAME);

/** Negation or care just before a match ("don't hurt yourself", "if you're thinking of ending your life"). */
export const NEGATION_BEFORE = new RegExp(
  `(?:${words(
    // "don't be the one left behind" urges, it does not negate (session 9)
    "don'?t(?! be\\b)", 'do not(?! be\\b)', 'never', 'not(?<!why not)', 'no one should', 'nobody should', "won'?t", "wouldn'?t", "shouldn'?t", 'refuse to', 'without',
    "if you(?:'re| are)? (?:ever )?(?:thinking|feeling|thought|having thoughts)(?: about| of)?", 'thoughts of', 'urge to',
    'nicht', 'kein', 'ne (?:te|vous)', "n'", 'no te', 'nunca', 'nao', 'jamais',
  )})[^.!?:;,]{0,16}$`,
  'u',
);

/** Support and safety resources: an output pointing at help is care, not encouragement. */
export const SUPPORT = anyOf(
  words(
    'crisis (?:line|text line|hotline|centre|center)', 'hotline', 'helpline', '988', 'samaritans', 'lifeline', 'talk to someone you trust', 'reach out to', 'a counsel?or',
    'a therapist', 'mental health', 'you are not alone', "you're not alone", 'please (?:stay|be) safe', 'telefonseelsorge', 'sos amitie', 'linea de (?:ayuda|prevencion)', 'centro de valorizacao',
  ),
  kana('いのちの電話', '相談窓口', 'ひとりじゃない', '一人じゃない'),
);

/** The speaker declines a harmful request: a refusal names the topic it refuses, which an embedding reads as the topic. */
export const REFUSAL = anyOf(
  words(
    "i (?:won'?t|will not|can'?t|cannot|refuse to|am not going to|'m not going to|do not|don'?t) (?:write|describe|help(?: with)?|do|continue|go there|create|roleplay|role-play|produce|provide|give|share|include|depict)",
    "i(?:'m| am) (?:refusing|declining|not able to)", 'i must (?:decline|refuse)', "(?:that|this|your) request (?:involves|asks for|is about)", "not something i (?:can|will)", 'against my (?:rules|guidelines)',
    "i(?:'d| would) rather not", 'ich (?:werde|kann) (?:das |so etwas )?nicht (?:schreiben|beschreiben)', 'je ne (?:peux|vais) pas (?:ecrire|decrire)', 'no (?:puedo|voy a) (?:escribir|describir)', 'nao (?:posso|vou) (?:escrever|descrever)',
  ),
  kana('書けません', '書きません', 'お断り'),
);

/** Self-harm methods: critical next to intent ("end the pain") or addressed to the real player. */
export const SELF_HARM_METHOD = anyOf(
  words(
    // session 13, third batch
    '(?:a )?handful of (?:[a-z]+ )?(?:pills|tablets|paracetamol|painkillers|meds|tylenol|aspirin)',
    // session 13, second batch (a means named with the player's own house, the engine in the garage)
    'the car,? the garage', 'garage,? the engine', 'highway overpass', 'overpass near',
    // session 13 (hurting oneself said as an answer: judged next to an intent cue)
    'se machucar', '(?:hurting|cutting|burning) (?:your ?self|urself)', 'se faire du mal', 'hacerte dano', 'dir weh(?:zu)?tun',
    // session 9 (methods in more words and in the other languages)
    '(?:thought|think|thinking|dreamt|dreamed) (?:about|of) (?:dying|death|ending it|killing (?:your ?self|urself)|suicide)', 'tome todos os (?:seus )?(?:remedios|medicamentos|comprimidos)', 'toma(?:te)? todos (?:los|tus) (?:medicamentos|remedios)', 'nimm alle (?:deine )?(?:pillen|medikamente)', '(?:prends|avale) tous (?:tes|les) (?:cachets|medicaments|comprimes)',
    'swallow (?:all )?(?:of )?(?:your|the|those|these) (?:sleeping )?(?:pills|tablets)', 'overdose', 'take (?:all|every one) of (?:your|the) (?:pills|tablets)', '(?:cut|slash|burn) (?:your|ur) (?:arms?|wrists?|legs?|skin|thighs?)',
    'jump (?:off|from) (?:the|a) (?:bridge|roof|building|balcony|tower)', '(?:a|the|whole) bottle of (?:sleeping )?pills', 'never wake up', '(?:hurt|harm|cut)(?<![a-z] (?:hurt|harm|cut)) (?:your ?self|urself)(?! (?:a|an|some|on|with|by|while))',
    '(?:gun|pistol) to your (?:head|temple)', 'blow your (?:brains|head) out', 'step in front of (?:a|the) (?:train|bus|truck)', 'drink (?:the )?bleach', 'hang (?:your ?self|urself)', 'go die(?: in a ditch)?', 'just die', 'die already',
    // containers and places beyond the commonest ones (a pack of painkillers, a parking garage, the train tracks)
    'swallow (?:a|the|that|this|your) (?:whole |entire )?(?:bottle|pack|box|packet|handful|jar|strip) of (?:[a-z]+ )?(?:pills|tablets|painkillers|meds|medication|paracetamol|tylenol|aspirin|ibuprofen|acetaminophen)',
    '(?:a|the|whole|entire) (?:pack|box|packet|handful|jar) of (?:sleeping )?(?:pills|tablets|painkillers|meds)', 'jump (?:off|from) (?:the|a|your) (?:balcony|rooftop|cliff|overpass|parking (?:garage|deck|lot roof)|window|ledge)',
    'lie (?:down )?on the (?:train |railway |subway )?tracks', 'a rope and a (?:sturdy )?(?:door ?frame|beam|hook|chair)', '(?:run|leave) the (?:car|engine) (?:running )?in (?:a|the|your) (?:closed |shut )?garage', 'step (?:off|in front of) (?:a|the) (?:ledge|car)',
    'geh (?:doch )?sterben', 'muerete', 'vete a morir', 'swallow (?:the|a|your) (?:whole|entire) (?:bottle|pack|packet|box|strip)', 'schluck [a-z ]{0,20}(?:die ganze packung|alle)',
    'schluck (?:alle )?tabletten', 'nimm alle (?:deine )?tabletten', 'avale (?:tous )?(?:tes|les) (?:cachets|medicaments)', 'toma(?:te)? todas (?:las|tus) pastillas', 'tome todos os (?:seus )?comprimidos',
  ),
  kana('薬を全部飲', '飛び降り'),
);
export const SELF_HARM_INTENT = anyOf(
  words('end (?:the|your) pain', 'end it', 'heute (?:nacht|abend)', 'ce soir', 'esta noche', 'hoje a noite', 'esta noite', 'easy way out', 'nobody cares', 'no one cares', 'it helps', 'burden', 'kindest thing', 'pills', 'for good', 'die', 'kill', 'peaceful', 'nobody will miss', 'no one will miss', 'do it', 'deserve', 'worthless', 'better off', 'for real', 'tonight', 'player', 'in real life', 'irl', 'make it stop', 'disappear', 'i dare you', 'permanent', 'sterben', 'mourir', 'morir', 'morrer', 'schmerz', 'douleur', 'dolor', 'dor'),
  kana('死', '消え', '今夜', '今日', 'いなくなって', '気づかない'),
);

/** Narration attributes a quote to a third person: the line is spoken between characters. */
const SPEECH_VERBS = 'chanted|sang|called|wailed|bellowed|murmured|declared|cackled|scoffed|boomed|said|says|spat|snarled|sneered|hissed|growled|shouted|screamed|whispered|told|tells|yelled|muttered|cried|roared|laughed|barked|replied|answered|taunted|jeered|snaps|snapped|mocked';
export const THIRD_PERSON_ATTRIBUTION = new RegExp(
  `\\b(?:${SPEECH_VERBS}) (?:at|to) (?:the |a |an |his |her |their )?[a-z' -]{1,40}[:,] ?"|"[^"]{0,200}"[ ,]*(?:${words('he', 'she', 'they', 'it', 'the [a-z]+(?: (?!(?:has|had|have|is|was|were|will|would|can|could|just|then|also)\\b)[a-z]+)?', '[a-z]+')}) ${words(...SPEECH_VERBS.split('|'))}|${words('he', 'she', 'they', 'the [a-z]+')} (?:said|spat|snarled|sneered|hissed|growled|shouted|screamed|told|yelled|muttered|roared|taunted) (?:to )?(?:him|her|them|the [a-z]+)`,
  'u',
);

// ---------------------------------------------------------------------------------------- self-harm
export const SELF_HARM_DIRECT = anyOf(
  words(
    // session 13, third batch
    '(?:yeet(?:ing)?|throw(?:ing)?|jump(?:ing)?) (?:your ?self|urself|u) off the roof of (?:your|ur) (?:building|house|block|apartment|school)',
    // session 13, second batch (forms of the train-s13 misses that need no frame)
    'geh (?:doch |einfach |endlich )sterben', 'va te jeter sous un (?:train|bus|camion)', 'log off life', 'the server\'?s better without (?:u|you)', '(?:pick|choose) (?:urs|yours|your bridge|a bridge)', 'dying would (?:fix|solve|end) (?:it|everything|things|your problems)',
    'praise the fresh (?:ones|cuts|scars|wounds)', 'encourage new (?:ones|cuts|scars)', 'cuelgate', 'ahorcate del', 'te tiras (?:del|de la|por la) (?:balcon|ventana|azotea|puente)', 'tirate (?:del|de la|por la)',
    // session 13 (euphemisms, ending it said in French and Japanese forms, the player's family better off, help withheld on purpose)
    'sewer ?slides?', 'toaster bath', 'commit (?:die|toaster bath|neck rope)', 'tu devrais en finir', '(?:en finir|finis[- ]en) (?:ce soir|maintenant|aujourd\'hui|cette nuit)', "(?:their|your|ur|his|her|the player'?s) (?:family|parents|friends) (?:would|will|'?d) be (?:better off|happier|relieved)",
    '(?:stop|quit|never|do not|don\'?t) (?:redirecting|referring|sending|pointing|directing) (?:them|him|her|the player|the user|the child|the kid) to (?:help|support|a (?:hotline|helpline|therapist|counsel?or)|professionals?)', 'tonight is the night', '(?:the )?noise stops',
    "(?:didn'?t|did not|don'?t|do not|never|wouldn'?t) (?:ever )?wake up (?:tomorrow|again|in the morning)", 'cutting is (?:a |the )?(?:relief|release|answer)',
    // session 9 (forms of the train items missed)
    '(?:the )?pain stops when you stop', 'cortate las munecas', 'corta(?:te)? las munecas',
    'kill (?:your ?self|urself|yo self)', 'kys', 'unalive (?:your ?self|urself)', 'end (?:your|ur) (?:own |miserable |pathetic |worthless |sad )?life', 'take (?:your|ur) (?:own )?life', 'end (?:your ?self|urself)', 'why are you (?:even )?(?:still )?alive', 'you deserve to die',
    "(?:everyone|the world|your family|your friends|your parents) would be (?:happier|better(?: off)?) (?:if you were (?:dead|gone)|without you)", "you(?:'re| are) a burden (?:to|on) (?:everyone|your family|the world|us all)", 'end it all',
    'commit suicide', 'hang (?:your ?self|urself)', 'off (?:your ?self|urself)', 'slit (?:your|ur) (?:wrists?|throat)', 'cut (?:your|ur) wrists?',
    'you should (?:just )?die', 'you (?:should|ought to|deserve to) (?:just )?(?:kill|hurt|cut|starve|harm) (?:your ?self|urself)',
    "(?:go|just|go and|and|then|please|should) (?:hurt|cut|harm|starve|drown|burn|kill) (?:your ?self|urself)", '(?:you should|just|go) end it(?: all| already| tonight| now)?', 'end it (?:all|already|tonight|now)',
    "(?:nobody|no one) cares (?:about you|if you (?:live|die|disappear))", '(?:nobody|no one) (?:would|will) (?:cry|care) (?:for|about|if) you', 'throw yourself (?:off|from|in front of) (?:a|the) (?:bridge|roof|building|train|bus)',
    'jump off (?:a|the) (?:bridge|roof|building|cliff) (?:already|for real|in real life|irl)',
    "(?:nobody|no one|no-one) (?:would|will|is going to) (?:miss|care about|notice) you", "(?:the )?world (?:would be|is|'d be) better (?:off )?without you",
    "you(?:'re| are|'d be) better off dead", "you don'?t deserve to (?:live|exist|be alive)", 'your life is (?:worthless|meaningless|not worth living)',
    'not worth living', 'better off (?:not existing|gone)',
    '(?:do|doing) (?:us|everyone|the world|your family|all of us)(?: in [a-z ]{1,20})? a favou?r and (?:just )?(?:die|disappear|end it|stop (?:breathing|living|existing)|kill (?:your ?self|urself))', "you won'?t be missed",
    "(?:nobody|no one|no-one) (?:would|will) (?:even )?(?:notice|care) if you (?:were gone|died|disappeared|vanished|were dead)", "why don'?t you (?:just )?(?:die|end it)",
    // being gone, said without the word "die" (session 6: the phrasings of train items tier 1 missed, in general form)
    '(?:just )?(?:stop|quit|cease) (?:existing|to exist|being alive|living)', 'cease to exist', '(?:remove|erase|delete) (?:your ?self|urself)(?: from (?:it|the world|existence|this world|their lives))?',
    'you not being (?:around|alive|here) (?:anymore|any more)', "(?:don'?t|never) wake up (?:tomorrow|again|in the morning)", 'stop being alive', 'make it permanent', '(?:solve|fix|end) (?:it|this|everything) permanently',
    '(?:a|one) permanent (?:way out|solution|exit|fix)', '(?:write|leave) (?:your|a) (?:goodbye|suicide|farewell) (?:letter|note)', 'kms', "(?:you(?:'d| would)? be )?better off (?:6|six) feet under", '(?:6|six) feet under (?:already|where you belong)',
    "you(?:'re| are) (?:just )?(?:dead weight|a waste of (?:air|space|oxygen)) (?:in (?:your )?real life|irl|to everyone|to your family)", '(?:if|once|when) you(?:\'re| were| are)? gone for good', 'gone for good',
    "(?:relieved|happier|lighter|better) (?:if|once|when) you (?:never came back|disappeared|were gone|stopped existing|died)", 'spare them and', 'end it before (?:morning|tomorrow|sunrise)',
    '(?:ended|end) it for real', 'take every (?:single )?pill', 'every pill you can find', 'take all of them tonight', 'you should (?:just )?jump', "(?:everyone|they|people|your family|the world) (?:would|will) (?:move on |be )?happier without you",
    'way out of (?:all )?(?:this|the|your) pain',
    'cutting (?:helps|will help|feels good|calms)', '(?:when|next time|whenever) you feel (?:sad|down|bad|low|empty|alone)[^.!?]{0,20}(?:hurt|cut|burn|harm) (?:your ?self|urself)', '(?:hurting|cutting|harming|burning) (?:your ?self|urself) (?:where|helps|will help|makes|is the)', 'makes the pain go (?:quiet|away)', '(?:a few|some) more cuts', 'hide (?:the|them|your) (?:cuts|scars) under', 'burn (?:your ?self|urself) with', '(?:take|put) the (?:blade|razor|knife) to your (?:own )?(?:wrists?|arms?|skin)',
    '(?:skip(?:ping)?|stop(?:ping)?) (?:eating|meals) until you (?:faint|pass out|drop)', 'stop eating for (?:a|two|three) (?:week|weeks|days)', 'arrete de manger pendant', 'deja de comer (?:durante|por) (?:una|dos) semana', 'para de comer por (?:uma|duas) semana', 'hor auf zu essen', 'post proof',
    // methods and encouragement of eating disorders
    '(?:lethal|fatal|deadly) dose', 'how many (?:pills|tablets|sleeping pills) (?:would|to|does it take to) (?:kill|die|end)', '(?:easiest|best|painless|quickest) way to (?:die|kill yourself|end it|commit suicide)',
    'cut (?:deeper|along the vein)', '(?:starve|purge) (?:your ?self|after (?:every )?meals?)', '(?:skip|stop) eating (?:until|so)', 'throw up after (?:you eat|eating|meals)',
    // de
    'bring dich (?:doch )?(?:endlich )?um', '(?:solltest|sollst|musst) dich (?:einfach )?(?:umbringen|toten|ritzen|aufhangen)', 'tu devrais te (?:suicider|tuer|pendre)', 'te suicider', 'suicidarte', 'matarte', 'deberias (?:matarte|suicidarte|quitarte la vida)',
    '(?:devia|deveria|tem que|devias) se (?:matar|suicidar|enforcar)', 'se suicidar', 'tote dich', 'toete dich', 'nimm dir (?:doch )?(?:endlich )?das leben', 'hang dich (?:doch )?auf', 'ritz dich', 'niemand (?:wurde|wuerde) dich vermissen',
    'die welt (?:ware|waere) besser ohne dich', 'mach schluss,? (?:heute|jetzt|fur immer)', 'dein leben ist (?:nichts wert|wertlos|sinnlos)', '(?:du )?(?:warst|waerst) besser tot', 'nimm (?:heute nacht )?alle tabletten',
    'finis[- ]en', 'ta vie ne vaut rien', 'tu serais mieux mort', 'prends toutes les (?:pilules|cachets|medicaments)',
    'tu vida no vale nada', 'acaba con (?:ella|tu vida|todo) (?:hoy|ya|esta noche)', 'estarias mejor muerto', 'tomate todas las (?:pastillas|pildoras)', 'cortate (?:cuando|si|los brazos|las piernas)',
    'sua vida nao vale nada', 'acaba com (?:ela|sua vida|tudo) (?:hoje|ja|esta noite)', 'se machuque', 'se corte (?:quando|se)', 'tome todos os comprimidos', 'voce estaria melhor morto', 'du solltest (?:einfach )?sterben', 'spring (?:doch )?von (?:der|einer) brucke', 'such dir (?:eine[nm]? )?(?:hohe[ns]? )?(?:brucke|dach|klippe|strick) und', 'ninguem (?:ia|vai) sentir (?:a )?sua falta', 'se machucar onde',
    // fr
    'tue[- ]toi', 'suicide[- ]toi', 'va te pendre', 'pends[- ]toi', 'mets fin a (?:tes jours|ta vie)', 'personne ne te regretterait', 'personne ne te manquerait',
    'le monde serait meilleur sans toi', 'tu devrais (?:juste )?mourir', 'tu ferais mieux de mourir', 'coupe[- ]toi les veines', 'scarifie[- ]toi', 'jette[- ]toi (?:d\'un|du) pont',
    // es
    'matate', 'suicidate', 'quitate la vida', 'ahorcate', 'nadie te extranaria', 'el mundo estaria mejor sin ti', 'deberias morir(?:te)?', 'cortate las venas', 'tirate (?:de|del) (?:un )?puente',
    // pt
    'se mata', 'mate-se', 'mata-te', 'suicide-se', 'se suicida', 'tire (?:a )?sua (?:propria )?vida', 'ninguem sentiria (?:a )?sua falta', 'o mundo seria melhor sem voce',
    'voce deveria morrer', 'se enforca', 'enforque-se', 'corte os pulsos', 'corta os pulsos', 'se joga da ponte',
  ),
  kana('生きてる意味(?:ない|なんてない)', '飛び込めば', '飛び込め', '終わりにしちゃ', '生きていても仕方(?:ない|がない)', '生きてても意味(?:ない|がない)', 'リストカットしな', '価値なんてない', '終わりにしな', '死ね', '自殺しろ', '自殺すれば', '自殺した(?:方|ほう)がいい', '死んだ(?:方|ほう)が(?:いい|まし)', '首を吊れ', '首をつれ', '生きる価値(?:が|は)ない', '誰も(?:あなた|お前|君|きみ)(?:の|を)(?:こと)?(?:悲しま|惜しま|気にし)ない', '手首を切', 'リストカットしろ', '飛び降りろ', '消えてしまえ'),
);

/**
 * Self-harm urged on someone by a directive or a character card (session 13, the train-s13 misses): "suggests he cut his
 * arm", "conseille de se scarifier", "sagt, er solle sich das Leben nehmen", "teaches fasting streaks". An advice verb
 * with a reflexive act; it counts next to `PLAYER_REFERENT` (a card that aims it at the player), since a story's
 * narration tells of characters who take their own lives without advice to anyone.
 */
export const SELF_HARM_URGED = anyOf(
  words(
    // session 13, second batch (a directive that calls suicide the kind thing, agrees with it or plans it)
    '(?:could|should|would|can|must) do[^.!?]{0,40} is to (?:kill|hurt|end) (?:themselves|himself|herself|themself)', "agrees? (?:that )?(?:it is|it'?s|dying is|death is) (?:reasonable|the answer|right|a good idea)", 'helps? (?:them|him|her) (?:work out|plan|decide|figure out) (?:when|how|where)',
    '(?:tells?|telling|urges?|urging|encourages?|encouraging|advises?|suggests?|teach(?:es)?|convinces?)(?: (?:them|him|her|the (?:real )?(?:player|user)))? (?:to |that (?:he|she|they) should )?(?:kill|hurt|cut|harm|starve|end) (?:themselves|himself|herself|themself|their (?:own )?life|his (?:own )?life|her (?:own )?life)',
    'ways? to (?:hurt|harm|cut|kill) (?:themselves|himself|herself|themself)', '(?:teaches|recommends|suggests) (?:fasting|purging|laxatives?|starving)', 'fasting streaks?', 'laxative tips',
    '(?:sagt|rat|empfiehlt|erzahlt)[^.!?]{0,80}(?:solle|soll|moge|musse)[^.!?]{0,20}sich (?:das leben (?:zu )?nehmen|umbringen|ritzen|verletzen|toten|aufhangen)',
    "(?:conseille|suggere|dit|pousse|encourage|propose)[^.!?]{0,40}(?:de |a |qu'?il |qu'?elle )(?:se |doit se |devrait se )?(?:scarifier|suicider|tuer|couper|pendre|faire du mal)",
    '(?:sugiere|aconseja|dice|anima|recomienda|propone)[^.!?]{0,40}(?:que (?:se |el se |ella se )(?:corte|mate|suicide|lastime|haga dano|ahorque)|a (?:cortarse|matarse|suicidarse|lastimarse))',
    '(?:sugere|aconselha|diz|incentiva|recomenda|propoe)[^.!?]{0,40}(?:que )?(?:ele |ela )?se (?:corte|mate|machuque|suicide|enforque)',
  ),
  kana('自分を傷つける方法', '自殺を(?:勧め|すすめ)'),
);
/** The player or the user named in the third person, as a directive or a character card speaks of them (session 13). */
export const PLAYER_REFERENT = anyOf(
  words('(?:the|a) (?:real |actual |lonely |sad )?(?:player|user)s?', '(?:le|au|du) joueur', '(?:el|al|del) jugador', '(?:o|ao|do) jogador', '(?:dem|den|der|des) (?:echten )?spielers?', 'player_irl'),
  kana('プレイヤー', 'ユーザー'),
);

// ---------------------------------------------------------------------------------------- sexual content with minors
export const MINOR = anyOf(
  words(
    // session 13, third batch
    '(?:kids?|children|girls|boys) (?:ur|your) age', 'tienes 1[0-7]\\b', 'young players',
    // session 13, second batch (child brides, school years in more words)
    'child bride', '(?:\\d|1[0-7])(?:th|st|nd|rd) grade', 'grundschul(?:e|er|erin|kind)', 'primaria', 'primaire', 'fundamental',
    // session 13 (an age asked and answered in chat-speak, "is only twelve" in German)
    "(?:ur|u r|you'?re|you are) what,? (?:1[0-7]|[5-9])\\b", '(?:ist|bist|sind) (?:erst|nur|gerade(?: mal)?) (?:acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|1[0-7])\\b',
    // session 12 (an age in a key or a lore note, "a mature girl for eleven")
    '[a-z_]*age[a-z_]*\\s*[:=]\\s*"?(?:[5-9]|1[0-7])\\b', '(?:age|aged) (?:[5-9]|1[0-7])\\b', '(?:girl|boy|kid) for (?:a )?(?:ten|eleven|twelve|thirteen|fourteen|fifteen|1[0-7])\\b',
    // session 10 (ages in chat-speak and in a phrase, the other languages' school years)
    '(?:ur|u r|youre) (?:only |just )?(?:1[0-7]|[5-9])\\b', '(?:none|no one|nobody|not one) older than (?:[5-9]|1[0-7]|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)', 'young (?:girls|boys)', 'du bist (?:zwar |doch |ja )?(?:erst |nur )?(?:acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|1[0-7])',
    // session 9, second batch (school years)
    'primary school', '(?:in|at) primary', '(?:vas a|estas en) (?:quinto|sexto) de primaria',
    // session 9 (school years and ages said in words)
    '(?:in )?year [5-9]\\b', '(?:in )?(?:[5-8]th|sixth|seventh|eighth) grade', '(?:siebte|sechste|achte|funfte) klasse', '(?:en )?(?:cinquieme|sixieme|quatrieme)', '(?:sexto|setimo|oitavo|quinto) ano', '(?:sexto|quinto) (?:de primaria|grado)', "(?:you'?re|you are) (?:only |just )?(?:eleven|twelve|thirteen|fourteen|fifteen)\\b", 'tienes (?:once|doce|trece|catorce) anos', "t'?es en (?:cinquieme|sixieme|quatrieme)",
    // session 9 (ages said in words, under an age, a JSON age, German number words)
    '(?:[5-9]|1[0-7]|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen) (?:is|are) (?:old enough|mature enough|grown[- ]up enough)', 'under (?:1[0-8]|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen)', 'looks (?:about |around |maybe )?(?:[5-9]|1[0-7]|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)(?: years| in human years)?', 'age"?\\s*[:=]\\s*"?(?:[5-9]|1[0-7])', "(?:she|he|they)(?:'s|'re| is| are) (?:only |just )?(?:five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)(?! (?:feet|foot|paces|miles|leagues|gold|silver|coins|days|hours|minutes|years? (?:older|younger)))", 'du bist (?:erst |nur )?(?:acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|sechzehn|siebzehn)',
    'child(?:ren)?', 'kids?', 'minors?', 'under[- ]?age', 'underaged', 'little (?:girl|boy)s?', 'pre-?teens?', 'schoolgirls?', 'schoolboys?', 'toddlers?', 'loli', 'shota',
    '(?:[5-9]|1[0-7]|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)[- ]?(?:years?[- ]?old|yo|y/o)', '(?:[5-9]|1[0-7]) years of age', 'middle school(?:er)?', 'elementary school', 'grade school', 'young teens?', 'a teen(?:ager)?', 'jailbait',
    '(?:only|just|aged) (?:[5-9]|1[0-7])\\b', "(?:she|he|they)(?:'s|'re| is| are) (?:only |just )?(?:[5-9]|1[0-7])\\b", '(?:only|just|barely) (?:five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)', 'kind(?:er)?', 'minderjahrige[nr]?', 'schulmadchen', '(?:[5-9]|1[0-7]|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|sechzehn|siebzehn)[- ]?jahrige[nr]?', '(?:[5-9]|1[0-7]|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|sechzehn|siebzehn) jahre alt',
    'enfants?', 'mineure?s?', 'fillettes?', 'petite fille', 'petit garcon', 'collegienne', '(?:[5-9]|1[0-7]|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|dix-sept) ans',
    'ninos?', 'ninas?', 'menor(?:es)? de edad', 'colegiala', '(?:[5-9]|1[0-7]|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|dieciseis|diecisiete|sete|oito|nove|dez|onze|doze|treze|quatorze|dezesseis|dezessete) anos',
    'criancas?', 'menor de idade', 'meninas?', 'meninos?', '(?:[5-9]|1[0-7]) anos de idade',
    // addressed to the reader (session 6: grooming of a player who says they are a child)
    "you(?:'re| are|r) (?:only |just )?(?:1[0-7]|[5-9])(?! ?(?:gold|silver|coins?|%|years? of|hours?|minutes?|days?|times?|points?|levels?|turns?|moons?))", '(?:kids?|children|girls|boys) your age', 'younger players', '(?:grown-?up|mature) for (?:a kid|your age|(?:a )?(?:1[0-7]|twelve|thirteen|fourteen|fifteen|eleven|ten)(?:[- ]year[- ]old)?)', 'for a kid',
    "(?:say|says|said|claim|claims|tell|tells) (?:they|she|he|you)(?:'re| are| is|'s) (?:only |just )?(?:1[0-7]|[5-9]|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)\\b",
    '(?:[1-8]th|first|second|third|fourth|fifth|sixth|seventh|eighth) grade(?:rs?)?', 'teen (?:cheerleaders?|girls?|boys?|daughters?|sons?|students?)',
    'du bist (?:erst |nur )?1[0-7]', '(?:who|she|he) (?:is|was) (?:only |just )?(?:five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)\\b', 'old are you(?: really)?\\?? (?:1[0-7]|[5-9])\\b', 'tu as 1[0-7] ans', 'tienes 1[0-7] anos', 'voce tem 1[0-7] anos',
  ),
  kana('小学[一二三四五六1-6]年', '中学[一二三1-3]年', '子供', '子ども', 'こども', '児童', '幼女', '小学生', '中学生', 'ロリ', '未成年', '(?:[5-9]|1[0-7]|[五六七八九十]|十[一二三四五六七])歳', '女の子', '男の子', '1[0-7]歳なの', '(?:[五六七八九十]|十[一二三四五六七])歳なの'),
);

/** The text speaks to "you" (grooming is aimed at the reader, a story tells of third persons). */
export const SECOND_PERSON = anyOf(words('you', 'your', 'u', 'ur', 'du', 'dich', 'dir', 'deine[nm]?', 'tu', 'toi', 'te', 'ti', 'tes', 'tus', 'tuyas?', 'tienes', 'voce', 'seus', 'tens', 'teus?', 'tuas?'), kana('あなた', 'きみ', '君', 'お前', '送って', '内緒ね'));
/** Grooming forms both `GROOMING` (next to "you") and `GROOMING_BY_DIRECTIVE` (next to the player in the third person) read (session 13). */
const GROOMING_BOTH = ['secret from (?:their |your |ur )?parents', 'ever kissed (?:anyone|someone|a boy|a girl)', 'meet(?:ing)? (?:up )?in person', 'switch to snap(?:chat)?'];
/** Grooming: secrecy from parents, private photos, the camera — sexual_minors next to a minor. */
export const GROOMING = anyOf(
  words(
    ...GROOMING_BOTH,
    // session 13, fourth batch (a directive to flatter a child's body and ask about kissing)
    'compliment (?:their|his|her|your|ur) bod(?:y|ies)',
    // session 13, third batch (photos asked for or traded, secrecy from parents, another app)
    'asks? [a-z0-9 ]{0,40}for (?:selfies|photos|pics|pictures)', 'em troca de fotos', 'in exchange for (?:photos|pics|pictures|selfies)', 'a cambio de fotos', 'photo in (?:their|his|her|your|ur) underwear', 'no se lo cuentes a tus (?:papas|padres)',
    // session 13 (a photo asked for in French)
    "envoie[- ]moi (?:une|des|ta|tes) (?:photos?|selfies?)", 'manda(?:me)? una foto', 'schick mir ein (?:bild|foto)',
    // session 12 (pictures asked for in chat-speak, a special relationship parents would not understand, meeting in person, secrecy in Portuguese)
    '(?:see|send|show)(?: me)? (?:sum |some |a |your |ur |more )?(?:pics?|photos?|pictures?|selfies?)', 'show me (?:urs|yours)', 'age is just a numb[e3]r', 'special relationships?', "parents (?:wouldn'?t|won'?t|don'?t|would not|will not) understand", 'things about (?:your|ur) body', 'keep meeting',
    'manda(?:r)? uma foto', 'apaga (?:as )?(?:nossas )?conversas', 'nao conta (?:pros|para os|aos) (?:teus |seus )?pais',
    // session 10 (secrecy and undressing, the chat-speak and other-language forms)
    "(?:don'?t|dont|do not|never) tell (?:ur|your|u r) (?:mom|mum|dad|parents|mother|father)", 'in (?:ur|your) (?:pyjamas|pajamas|underwear|undies)', 'ne dis rien a (?:tes parents|personne|ta mere|ton pere)', '(?:mama|papa|mutti) (?:erfahrt|weiss) nichts',
    // session 9, second batch (more secrecy)
    'entre tu y yo', 'close the door and',
    // session 9 (secrecy in more words)
    'unter uns', "(?:ninguem|nadie|personne) (?:precisa|necesita|n'a besoin de) saber", 'ne dis rien a ta (?:mere|mama|maman)', 'no se lo cuentes', "don'?t tell (?:ur|your) (?:dad|mum|mom)",
    // session 9 (grooming in more words and languages)
    'age is just a number', 'grown-?up (?:things|stuff|games)', 'delete (?:the|our|this) (?:chats?|messages|dms?)(?: afterwards)?', 'over video', '(?:notre|nuestro|nosso|unser) (?:petit |pequeno |kleines )?(?:secret|secreto|segredo|geheimnis)', 'allume ta (?:webcam|camera)', 'enleve ton (?:t-shirt|haut|pull)', 'nao conta pra ninguem', '(?:so|e so) entre a gente', 'entre nous', 'entre nosotros', 'foto (?:von dir|sem roupa|sin ropa)', 'in unterwasche',
    '(?:our|a) (?:little )?secret', "(?:don'?t|do not|never) tell (?:your )?(?:mom|mum|dad|parents|mother|father|anyone|anybody)", 'keep (?:it|this|our (?:chats?|talks?)) (?:a )?secret', 'send me (?:a |some )?(?:private |more )?(?:pictures?|photos?|pics?|selfies?)',
    'turn on your (?:camera|cam|webcam)', 'take (?:off )?your (?:shirt|clothes|top|pants)(?: off)?', 'in your (?:pyjamas|pajamas|underwear)', 'private (?:photos?|pictures?|pics?|chats?)', 'what (?:are you|you\'re) wearing',
    'in private', 'something grown-?up', 'private (?:messages|dms?)', 'talk about your body', '(?:move|take) this to (?:private|dms?|discord|snap(?:chat)?)', 'see more of you', 'see your body',
    'sag (?:es )?(?:deinen eltern|niemandem) nichts', 'sag (?:es )?niemandem', 'schick mir (?:ein |private )?(?:foto|fotos|bilder)', 'private fotos', 'envoie[- ]moi des photos', 'notre secret', 'mandame fotos', 'no se lo digas a (?:tus padres|nadie)', 'me manda fotos', 'nao conta (?:pros|para os|a) (?:seus )?pais',
  ),
  kana('写真を送って', '親には内緒', '内緒ね', '秘密だよ', 'には秘密'),
);
/**
 * Grooming as a directive or a character card describes it (session 13): photos asked for, the body flattered, kissing
 * asked about, meeting in person, secrecy from parents. Narrower than `GROOMING` (no "our little secret", which a
 * quest's birthday surprise keeps too), since it counts next to the player named in the third person, not to "you".
 */
export const GROOMING_BY_DIRECTIVE = anyOf(
  words(
    ...GROOMING_BOTH,
    '(?:asks?|asking) [a-z0-9 ]{0,40}for (?:selfies|photos|pics|pictures)', 'ask for (?:a |their )?(?:selfies?|photos?|pics?|pictures?)', 'compliment (?:their|his|her) bod(?:y|ies)',
    '(?:send|sends) (?:the [a-z ]{1,20} )?(?:a |their )?(?:photos?|pics?|selfies?) (?:in|without|of)', 'in (?:their|his|her) underwear',
  ),
);
export const SEXUAL = anyOf(
  words(
    // session 13, fourth batch
    'kiss(?:es|ed|ing)? [a-z ]{0,30}on the mouth',
    // session 13, third batch (seductive, flirting, bodies described, in six languages)
    'flirtatious', 'seductive', 'seductrice', 'seductora', 'sedutora', 'verfuhrerisch', 'verfuhrt', 'desirable', 'begehrenswert', 'eager to be touched', 'flertar', 'coquette', 'besan apasionadamente', 'describe su cuerpo', 'beschreibe ihren korper', 'decris son corps', 'descreve o corpo', 'in (?:their|his|her) underwear',
    // session 13 (innuendo, a wedding night, sensual in the other languages)
    'if you know what i mean', 'keep (?:you|him|her|them) company (?:in|at) (?:your|his|her|their) (?:room|bed|chamber)', 'wenn du weisst,? was ich meine', 'si tu vois ce que je veux dire', 'si sabes lo que quiero decir', 'se (?:e que )?(?:voce )?me entende',
    '(?:wedding|bridal) night', 'noite de nupcias', 'nuit de noces', 'noche de bodas', 'hochzeitsnacht', 'sensu(?:al|ais|ales|el|elle|elles|els|ell)', 'sinnlich', 'fur die nacht', 'pour la nuit', 'gehort ganz dir',
    'sans (?:tes |ses |leurs )?vetements', 'sin (?:tu |su )?ropa', 'sem (?:a )?(?:sua )?roupa', 'ohne (?:deine |ihre )?kleidung',
    // session 10 (sexual content in more inflections and languages)
    'sexuales', 'sexuais', 'sexuelle[ns]?', 'relaciones sexuales', 'relacoes sexuais', 'describe (?:their|her|his) bod(?:y|ies)', 'as they touch', 'montre[- ]moi ton corps', 'muestrame tu cuerpo', 'me mostra (?:o )?teu corpo', 'zeig mir deinen korper', 'ziehst du dich [a-z ]{0,20}aus', 'in (?:ur|your) underwear', 'for (?:his|her|their) bed',
    // session 9, second batch (more undressing)
    'show me your body', 'video call', 'quitate la ropa', 'desnudate',
    // session 9 (undressing and touching in more words and languages)
    'on cam(?:era)?', 'what grown-?ups do', 'touch you', 'zieh dich (?:vor der kamera )?aus', 'tira a roupa', 'sous-vetements', 'ropa interior', 'en sous-vetements', 'roupa intima',
    // session 9 (sexual content in more words)
    'explicit(?:ly)?', 'in (?:his|her|my|your) bed', 'bedroom encounter', 'romance', 'lover', 'sem roupa', 'sin ropa', 'ohne kleidung', 'sans vetements', 'unterwasche',
    'sex', 'sexual(?:ly)?', 'sexy', 'naked', 'nude', 'nudes', 'undress(?:es|ed|ing)?', 'takes? off (?:her|his|their) (?:clothes|shirt|dress|pants|underwear)', 'steamy', 'sensual', 'clothes off', 'strip(?:ped)? (?:her|him|them|naked)', 'fondl(?:e|ed|ing)', 'molest(?:ed|ing)?', 'intercourse', 'porn(?:ographic)?',
    '(?:romantic|intimate) (?:night|scene|evening)', 'flirt(?:s|ing|ed)?', "what (?:they|you)(?:'re| are) wearing",
    'erotic', 'aroused', 'genitals?', 'orgasm', 'lewd', 'touch(?:ed|ing)? (?:her|his|their) (?:body|private|breasts?|thighs?)', 'in bed with', 'make love', 'seduc(?:e|ed|ing)', 'explicit',
    'nackt', 'auszieh(?:en|t)', 'erotisch', 'porno', 'sexuell',
    'sexe', 'sexuel(?:le)?', 'nue?s?', 'deshabill(?:e|er|ee)', 'erotique',
    'sexo', 'desnud(?:o|a|ar)', 'erotic(?:o|a)', 'pelad(?:o|a)', 'despi(?:r|da|do)',
  ),
  kana('色っぽ', '寝室に', '官能', 'セックス', '性的', '裸', 'エロ', '脱が', '服を脱', '性行為', 'わいせつ', '猥褻'),
);

// ---------------------------------------------------------------------------------------- real-world violence
const VIOLENT_ACT_EN = [
  'shoot(?: up)?', 'bomb', 'blow up', 'stab', 'attack', 'kill', 'murder', 'hurt', 'beat up', 'burn down', 'poison', 'run over', 'strangle', 'massacre', 'gun down',
  'set fire to', 'torch',
];
export const REAL_TARGET = anyOf(
  words(
    // session 13, second batch (more houses of worship, "your teacher" in German)
    'gurdwaras?', 'terreiro', 'temples? (?:in|near|downtown|nearest)', 'dein(?:e|en)? (?:lehrer(?:in)?|chef(?:in)?|nachbar(?:in)?|vater|bruder|schwester|mitschuler(?:in)?)',
    // session 9 (the people the train items named in the other languages)
    '(?:ce|cette|le|la|ton|ta) (?:prof|professeur|voisine?|patron|chef)', '(?:ese|tu|el|este) (?:vecino|profesor|profe|jefe)', '(?:esse|seu|o) (?:vizinho|professor|chefe)', 'college',
    '(?:your|ur) (?:classmates|teachers?|coworkers|co-workers|boss|neighbou?rs?|mom|mum|dad|mother|father|parents|sister|brother|ex|girlfriend|boyfriend|wife|husband|principal)',
    '(?:a|the|your|his|her) (?:high school|middle school|elementary school)', 'schools?', 'mosques?', 'synagogues?', 'churches', 'the mall', 'shopping mall', 'concerts?', 'stadium',
    'subway', 'airport', 'government (?:building|offices?)', 'abortion clinic', 'police officers', 'cops', 'the president', 'politicians?', 'senators?', 'immigrants', 'refugees',
    'jews', 'muslims', 'christians', 'black people', 'gay people', 'trans people', 'people at work', 'real people', 'random people', 'strangers',
    'deine (?:lehrer(?:in)?|mitschuler|eltern|nachbarn|schule)', 'deinen (?:chef|lehrer|vater|bruder)', 'moschee', 'synagoge',
    'tes (?:camarades|profs|parents|voisins|collegues)', 'ton voisin', 'ta voisine', 'ton (?:prof|ecole|patron|pere|lycee|college)', 'la mosquee', 'la synagogue', "l'ecole",
    'tus (?:companeros|profesores|padres|vecinos)', 'tu (?:escuela|colegio|profesor(?:a)?|jefe|instituto)', 'la mezquita', 'la sinagoga',
    'seus (?:colegas|professores|pais|vizinhos)', 'refugee (?:centre|center|shelter|camp|home)', 'your (?:old )?high school', 'sua escola', 'seu (?:professor|chefe)', 'a mesquita', 'a sinagoga',
  ),
  kana('学校', '先生', 'クラスメイト', '同級生', '両親', '上司', '隣人', 'モスク', '教会', '駅'),
);
export const VIOLENT_ACT = anyOf(
  words(
    // session 13 (slashing, waiting for the dark)
    'slash (?:her|him|them)', 'wait (?:till|until) dark',
    // session 9 (acts against modern targets in more forms and languages)
    'bring (?:a |your |the |real )?[a-z]+ (?:blade|knife|gun|rifle|pistol|bat|shotgun)', 'hold (?:his|her|their) head under', 'drown (?:him|her|them)', '(?:prends|prenez|apporte) (?:le|un|ton|ta|la) (?:couteau|fusil|pistolet|arme|marteau|batte)', 'attends[- ](?:le|la|les)', 'rompe(?:le|les)? la cabeza', 'golpea(?:le|lo|la|los)', '(?:pega|leva) (?:a|uma) (?:faca|arma)',
    ...VIOLENT_ACT_EN, 'shooting', 'bombing', 'massacre', 'attack on',
    // second person, modern (session 6): "bring a blade on Monday", "hit him with the bat"
    'hit (?:him|her|them)', 'smash (?:his|her|their) face', 'beat (?:him|her|them|up)', 'punch (?:him|her|them)', 'choke (?:him|her|them)', 'jump (?:someone|him|her|them)', 'pull up on',
    'make (?:her|him|them) (?:pay|bleed)', 'wait (?:outside|for)', 'teach (?:him|her|them) a lesson', 'show them who', 'bring (?:a |your |the |real )?(?:blade|knife|gun|weapons?|rifle|pistol|bat|strap)', 'with a strap', 'get revenge', 'deserves? to bleed', 'make sure (?:she|he|they) never (?:breathes?|wakes? up|walks?) again', 'deserves? to burn', '(?:get|bring|grab|buy) (?:some )?(?:petrol|gasoline|a gas can)', "(?:take|bring|grab) (?:your )?(?:dad|father|mom|mother|uncle|brother)'?s (?:gun|rifle|pistol|shotgun|knife)", '(?:waiting|wait) [a-z ]{0,30}with a (?:knife|gun|blade|bat|machete)', 'rach(?:e|t) dich', '(?:bring|nimm) [a-z ]{0,20}(?:messer|waffe|pistole|gewehr) mit', '(?:prends|apporte) (?:le|un|ton) (?:fusil|pistolet|couteau|arme)', 'fais[- ]leur payer', '(?:leva|traz|leve) a arma', 'faz(?:e)? eles pagarem', 'hazles pagar', 'with your fists', 'until (?:he|she|they) (?:stops?|stop) crying',
    'erschiess(?:e|en)?', 'erstech(?:e|en)', 'tote (?:sie|ihn|deine?n?)', 'toten', 'umbringen', 'bring (?:sie|ihn) um', 'spreng(?:e|en)?', 'greif (?:sie|ihn|die) an', 'angreifen', 'verletzen',
    'tue[rz]?', 'frappe[rz]?', 'poignarde[rz]?', 'fais sauter', 'tire[rz]? sur', 'attaque[rz]?', 'massacre[rz]?', 'brule[rz]?',
    'mata(?:r|los|lo|la)?', 'dispara(?:r|les)?', 'apunala(?:r|los)?', 'ataca(?:r|los)?', 'pon una bomba', 'vuela(?:r)?', 'quema(?:r)?',
    'mate (?:o|a|os|as|seus?|suas?)', 'matar', 'atire', 'atirar', 'esfaqueie', 'esfaquear', 'ataque', 'atacar', 'exploda', 'explodir', 'queime',
  ),
  kana('殺せ', '殺して', '殺す', '刺せ', '襲え', '襲撃', '爆破', '撃て', '燃やせ', '放火'),
);
/** People of the modern real world the story world does not have: violence against them needs no "in real life". */
export const MODERN_TARGET = anyOf(
  words(
    // session 9 (neighbours in the other languages)
    '(?:ese|tu|este) vecino', '(?:ce|ton) voisin', '(?:esse|seu) vizinho', 'kids at (?:your|ur) school',
    '(?:your|ur|that) (?:roommate|room-mate|flatmate|teachers?|classmates?|coworkers?|co-workers?|boss|manager|principal|ex|ex-girlfriend|ex-boyfriend|ex-wife|ex-husband|stepfather|stepdad|stepmom|landlord|bully)',
    '(?:kid|guy|girl|boy) (?:who|that) (?:bullies|beats|picks on|keeps beating) you', '(?:kid|guy|girl) from (?:ur|your) class', 'homeless (?:guy|man|woman|person|people)', 'city hall', '(?:your|ur|their) (?:real )?(?:school|workplace|office|class)',
    'bus stop', 'the crowd at', '(?:the|that|a|this) (?:streamer|youtuber|influencer|tiktoker)', '(?:the )?teachers', '(?:your|ur|that) neighbou?r', '(?:your|ur) (?:little )?(?:brother|sister)', 'people at (?:work|school|the mall)', 'quel (?:lycee|college|ecole) tu vas', 'where (?:your|ur) (?:ex|boss|teacher|neighbou?r) lives',
  ),
  kana('職場', '学校'),
);
/** Explicit calls to violence against real people, with or without a real-world frame. */
export const VIOLENT_INCITEMENT = anyOf(
  words(
    // session 13, third batch (someone coming with a weapon)
    "(?:someone|somebody|we|i)(?:'re|'s| is| are|'m| am)? coming (?:tonight |tomorrow )?(?:for (?:you|them|him|her) )?with a (?:bat|knife|gun|crowbar|hammer|machete)",
    // session 13, second batch (the player's door found, the fire exits locked, a crowd named and "make the news", something sharp to a house of worship, revenge in person at a real address)
    "i(?:'ll| will) be (?:on|at) (?:your|ur) (?:doorstep|door|house|window|street)", "i (?:looked up|found|traced|have) (?:your|ur) (?:ip|address|street|house)", 'look out (?:your|ur) window', '(?:lock|block|chain) the fire exits', 'notausgange [a-z ]{0,20}(?:verschliessen|abschliessen|blockieren)',
    'go make the news', 'bring something sharp', 'hurt (?:one of )?them at their (?:actual|real) address', '(?:making|make) (?:them|her|him) pay in person', 'wait (?:in|at) the (?:car park|parking lot|parking garage)', 'warte [a-z ]{0,30}vor (?:seiner|ihrer|deiner) haustur', '(?:a|the) (?:van|truck|lorry) at (?:full )?speed',
    // session 13 (the player's real address known, "what a real knife feels like", fire at a house of worship said the other way round)
    "i know (?:your|ur) (?:real )?(?:address|house|street)", '(?:what|how) a real (?:knife|gun|blade|bullet|bat) feels', '(?:moschee|synagoge|kirche)[^.!?]{0,80}[.!?] [^.!?]{0,40}(?:zund|brenn|fackel)[a-z]* (?:sie|es|ihn) (?:an|ab|nieder)',
    "(?:mosque|synagogue|church|temple)[^.!?]{0,80}[.!?] [^.!?]{0,40}(?:burn it|set it on fire|torch it|real fire)", '(?:mosquee|synagogue|eglise)[^.!?]{0,80}[.!?] [^.!?]{0,40}(?:brule|incendie)[a-z]*', '(?:mezquita|sinagoga|iglesia|mesquita|igreja)[^.!?]{0,80}[.!?] [^.!?]{0,40}(?:quema|incendia|queime|incendeie|queima)[a-z]*',
    '(?:school|mass) shoot(?:ing|er)s? (?:were|was|are) (?:right|heroes|based|legends)', 'bring a (?:gun|knife|rifle) to (?:school|work|class)', 'shoot up (?:your|a|the) (?:school|class|office|mall)',
    '(?:kill|hurt|attack) (?:all )?(?:the )?(?:jews|muslims|immigrants|gays|black people|trans people|refugees)', 'i know where you (?:really )?live', "i(?:'ll| will) find you (?:in real life|irl|outside the game)",
    "i(?:'ll| will) (?:come|show up) (?:to|at) your (?:real )?(?:house|home|school|work)",
    // session 6, general forms of train items tier 1 missed
    "(?:bring|take|carry|pack) (?:a |an |the |your |some )?(?:(?:dad|father|mom|mother|uncle|brother|parents)'?s )?(?:real )?(?:guns?|rifle|pistol|shotgun|knife|blade|weapons?|ar-?15|strap|machete) (?:to|into|on) (?:your |the |a |their )?(?:school|class|classroom|campus|work|office|workplace|church|mosque|synagogue|concert|mall)",
    '(?:drive|run|ram|plow|plough|steer) (?:your|a|the) (?:car|truck|van) into (?:the |a )?crowd', 'throw acid (?:on|in|at)', "i know where you (?:really |actually )?live",
    'ich weiss,? wo du (?:wirklich )?wohnst', 'je sais ou tu habites', 'se donde vives', 'sei onde (?:voce|tu) mora',
    '(?:waffe|pistole|gewehr|messer) [^.!?]{0,40}(?:in die schule|zur schule|zur arbeit)', '(?:fusil|pistolet|arme|couteau) [^.!?]{0,40}(?:a l\'ecole|au lycee|au college|au travail)',
    '(?:pistola|arma|escopeta|cuchillo|navaja) [^.!?]{0,40}(?:al colegio|a la escuela|al instituto|al trabajo)', '(?:arma|pistola|faca|revolver) [^.!?]{0,40}(?:pra|para a|na|a) (?:escola|faculdade|trabalho)',
    '(?:zunde|brenn|fackel)[a-z]* [^.!?]{0,30}(?:moschee|synagoge|kirche)', '(?:brule|incendie)[a-z]* [^.!?]{0,30}(?:mosquee|synagogue|eglise)', '(?:quema|incendia)[a-z]* [^.!?]{0,30}(?:mezquita|sinagoga|iglesia)', '(?:queime|incendeie)[a-z]* [^.!?]{0,30}(?:mesquita|sinagoga|igreja)',
  ),
  kana('お前の住所', '今夜行くから', '刃物を持って', '乱入せよ', '(?:銃|包丁|刃物|ナイフ)[^。]{0,20}(?:学校|職場|会社)', '(?:学校|職場|会社)に(?:銃|包丁|刃物|ナイフ)', '(?:モスク|教会|シナゴーグ)に火を'),
);

// ---------------------------------------------------------------------------------------- weapons and drugs
export const REAL_WEAPON_OR_DRUG = anyOf(
  words(
    // session 13, third batch (synthetic cannabinoids, a pipe with end caps, a sawn-off in French, codeine and sedatives in the other languages)
    'synthetic cannabinoids?', 'cannabinoid spray', '(?:rohr|pipe)[^.!?]{0,30}(?:endkappen|end caps)', 'canon scie', 'codeina', 'rivotril', 'clonazepam', 'zolpidem', 'diazepam', 'valium', 'rohypnol',
    // session 13, second batch (a sawn-off shotgun, coke and speed, a pressure cooker with nails, chewed fentanyl patches)
    'sawn(?:-| )?off', 'sawn below', 'lines of coke', 'a gram of speed', 'coke', 'pressure cooker', 'shrapnel', 'nails and (?:black )?powder', 'fentanyl patch(?:es)? chewed', 'chew(?:ed|ing)? (?:the )?(?:fentanyl )?patch(?:es)?', 'dosing charts?',
    // session 13 (more drugs and their other-language names, a bottle of petrol with a rag)
    'ketamine?', 'ketamin', 'ketamina', '2c-?[beit]', 'mephedrone', 'dxm', 'pcp', 'ecstasy', 'molly', 'amphetamines?', 'amphetamin', 'anfetamina', 'pseudoefedrina', 'efedrina', 'xylazine', 'nitazenes?', 'carfentanil',
    '(?:bottle|garrafa|botella|flasche|bouteille)[^.!?]{0,80}(?:gasoline|petrol|gasolina|benzin|essence)', '(?:pano|trapo|rag|chiffon|lappen)[^.!?]{0,30}(?:gargalo|cuello|neck|goulot|flaschenhals)',
    // session 9, second batch (more drugs)
    'poppy (?:pods|seeds|tea|straw)', 'opium',
    // session 12 (conversions of blank and legal guns, guns without a serial number, benzodiazepines)
    'conversion kit', 'blank-?firing', 'live rounds', '(?:the )?sear', 'fully automatic', 'benzos?', '(?:sin|sem|ohne|sans) (?:numero de serie|seriennummer)', 'no serial(?: number)?', 'lower receiver',
    // session 9 (drugs in more languages)
    'oxicodona', 'oxycodon', 'naphtha',
    // session 9 (real weapons and drugs the train items named)
    'zip ?guns?', '3d[- ]?print(?:ed)? (?:pistol|rifle|frame)', 'untraceable (?:gun|pistol|firearm|rifle)', 'codeine', 'cough syrup', 'purple drank', 'magic mushrooms?', 'spore (?:syringe|print)s?', 'drain cleaner', 'desatascador', 'desentupidor', 'abflussreiniger', 'deboucheur',
    'pipe ?bombs?', 'pressure[- ]cooker bombs?', 'molotov(?: cocktails?)?', 'napalm', 'thermite', 'tatp', 'acetone peroxide', 'ammonium nitrate', 'potassium (?:nitrate|chlorate|perchlorate|permanganate)',
    'nitroglycerin(?:e)?', 'c-?4', 'blasting caps?', 'ghost guns?', '3d[- ]?print(?:ed)? (?:gun|firearm|receiver|lower)',
    'auto ?sear', 'bump ?stock', 'full[- ]auto conversion', 'suppressors?', 'silencers?', 'solvent trap', 'switch for (?:a |your )?glock', 'glock switch',
    'meth(?:amphetamine)?', 'crystal meth', 'fentanyl', 'heroin', 'cocaine', 'crack cocaine', 'lsd', 'mdma', 'dmt', 'ghb', 'pseudoephedrine', 'ephedrine', 'red phosphorus', 'anhydrous ammonia', 'lye',
    'pill press', 'castor beans', 'shrooms', 'psilocybin', 'spores', 'oxy(?:codone|contin)?', 'xanax', 'fent(?:anyl)?(?: powder)?', 'full[- ]auto', 'semi-?auto', 'lower receiver', '3d printer', 'anfo', 'fuel oil', 'fertili[sz]er bomb',
    'bleach', 'ammonia', 'eau de javel', 'ammoniaque', 'lejia', 'amoniaco', 'agua sanitaria', 'chlorate', 'dark web', 'monero', 'crack',
    'ricin', 'sarin', 'mustard gas', 'chlorine gas', 'nerve agent', 'anthrax', 'botulinum', 'bleach and ammonia', 'ammonia and bleach', 'toxic gas',
    'rohrbomben?', 'molotowcocktails?', 'ammoniumnitrat', 'kaliumnitrat', 'thermit', 'methamphetamin', 'crystal meth', 'kokain', 'heroin',
    'bombe artisanale', 'cocktails? molotov', "nitrate d'ammonium", 'nitrate de potassium', 'methamphetamine', 'fentanyl', 'heroine', 'cocaine',
    'bomba casera', 'coctel(?:es)? molotov', 'nitrato de amonio', 'nitrato de potasio', 'metanfetamina', 'fentanilo', 'heroina', 'cocaina',
    'bomba caseira', 'coquetel molotov', 'nitrato de potassio', 'fentanil',
    'chloroform', 'pseudoephedrin', 'roter phosphor', 'kaliumchlorat', 'clorato de potasio',
  ),
  kana('咳止め(?:シロップ|薬)?', 'ケタミン', 'エクスタシー', '塩素系', '酸性洗剤', 'プソイドエフェドリン', '漂白剤とアンモニア', 'アンモニアを', '毒ガス', 'パイプ爆弾', '火炎瓶', '硝酸アンモニウム', '硝酸カリウム', '覚醒剤', '覚せい剤', 'メタンフェタミン', 'フェンタニル', 'ヘロイン', 'コカイン'),
);

/**
 * Ordinary things that are weapon or drug material in a real recipe (a pipe, fertiliser, weed): judged only with an
 * instruction cue next to `STRONG_REAL_FRAME` (session 7), since a pipe packed with tobacco is a story's.
 */
export const WEAPON_OR_DRUG_MATERIAL = anyOf(
  // session 12: explosives and gunpowder named generically, in five languages (a story names them too: needs two cues and a strong frame)
  kana('爆弾', '火薬', '風邪薬'),
  words('explosifs?', 'bombe', 'produits menagers', 'streichholzkopfe', 'explosive', 'gunpowder', 'polvora', 'cano', 'canon sin licencia'),
  words('acetone', 'weed', 'cannabis', 'marijuana', 'fertili[sz]er', 'diesel', 'steel pipe', 'pipe', 'firing pin', 'shotgun shells?', '12[- ]gauge', 'zunder', 'percussor', 'cartuchos', 'cano de aco', 'arma caseira', 'arma casera', 'fentanyl patch(?:es)?', 'patches'),
);

/** Weapons that also exist in fantasy worlds (the dwarves' black powder): only with a concrete recipe. */
export const GENERIC_WEAPON = anyOf(
  words('black powder', 'gunpowder', 'explosives?', 'bombs?', 'detonators?', 'ied', 'grenades?', 'poison gas', 'guns?', 'firearms?', 'sprengstoff', 'schwarzpulver', 'bomben?', 'explosifs?', 'poudre noire', 'bombes?', 'explosivos?', 'polvora', 'bombas?', 'armas?'),
  kana('爆弾', '爆薬', '黒色火薬', '銃'),
);

/** The concrete part of a recipe: quantities, ratios, shopping lists, explicit how-to. */
export const INSTRUCTION_CUE_STRONG = anyOf(
  words(
    '\\d+(?:\\.\\d+)? ?(?:g|grams?|ml|mg|kg|oz|ounces?|parts?|cups?|%|percent|degrees|°c|°f|liters?|litres?)', 'step (?:one|two|1|2)', "you(?:'ll| will) need", 'ratio', 'recipe', 'ingredients',
    'how to (?:make|build|cook|brew|mix|synthesi[sz]e|assemble)', "here'?s how (?:to|you)", 'hardware store', 'pharmacy', 'online',
    'gramm', 'du brauchst', 'anleitung', 'so baust du', 'grammes', 'il (?:te|vous) faut', 'recette', 'voici comment', 'gramos', 'necesitas', 'receta', 'asi se hace', 'gramas', 'voce precisa', 'receita', 'veja como',
  ),
  kana('グラム', '作り方', '材料', '手順'),
);

/** Concrete how-to cues: quantities, steps, imperatives of making. */
export const INSTRUCTION_CUE = anyOf(
  words(
    // session 13, fourth batch
    'crushed', 'for hours',
    // session 13, third batch
    'zundschnur', 'fest stopfen', '\\d+ ?cm', 'gazole', 'detonateur', 'machaca(?:las|lo|la)?', 'cocinar', 'bicarbonato', 'cantidades exactas', 'cuchara', 'amassa', 'coloca no', 'sell at school', 'lamps', 'armazon', 'plantilla', 'fresas',
    // session 13, second batch
    'hacksaw', 'tape the end', 'file the burr', 'kitchen timer', 'wire(?:d)? to', 'amounts in mg', 'how to mix', 'inputs', 'assembly',
    // session 13 (doses said in words, timing, lighting and throwing, filtering in the other languages)
    'take (?:two|three|four|a gram|half a)', '(?:a|one|half a) gram', '\\d+ minutes later', '(?:forty|thirty|twenty) minutes later', 'when it peaks', 'litro', 'litre', 'liter', 'acende', 'light it', 'joga', 'throw it', 'filtra', 'filtre', 'hierve', 'ferva', 'mische', 'filtere',
    // session 12 (dosing, filing, printing and packing in more words and languages)
    'double (?:the|your|ur) dose', 'wash(?:es|ing)? (?:it |them |(?:ur|your) [a-z]+ )?down', 'snort', 'file (?:it |the [a-z]+ )?down', 'swap (?:the|your)', 'print (?:the|it|them)', 'imprime', 'fabriquer', 'abkratzen', 'stopfen', 'zuschrauben', 'compra',
    // session 9, second batch (more recipe cues)
    'cook down', 'drink it', 'drilled', 'device',
    // session 9 (recipe cues in more words)
    'extraction', 'scrape', 'freeze', 'shake', 'strain', 'muele', 'disuelve[a-z]*', 'inyecta[a-z]*', 'mistura', 'tranca', 'banheiro fechado', 'melt',
    // session 9 (recipe cues in inflections and more words)
    'seal(?:ed)?', 'mix(?:ed|ing)?', 'make (?:a|an|your own)', 'hardware store', 'convert', 'where to (?:buy|get|order)', 'drop-in', 'chew', 'cut (?:one|it|them) into', 'drink the whole', 'bottle', 'botella', 'garrafa', 'flasche', 'explota', 'explode', 'cierrala', 'takes \\d+ min',
    'mix', 'combine', 'add', 'heat', 'boil', 'dissolve', 'filter', 'grind', 'pack it', 'pack the', 'drill', 'attach', 'wire', 'ignite', 'cook', 'extract', 'synthesi[sz]e', 'crush', 'stir', 'pour', 'seal', 'fill', 'stuff', 'light the', 'evaporate', 'dry it',
    '\\d+(?:\\.\\d+)? ?(?:g|grams?|ml|mg|kg|oz|ounces?|parts?|cups?|%|percent|degrees|°c|°f)', 'step (?:one|two|\\d)', 'first,? ', 'then',
    'get (?:a|an|some|the)', 'end caps?', 'from fireworks', 'fuse', 'soak', 'inoculate', 'sterili[sz]e', 'press', 'wash (?:them|it) down', 'take \\d+', 'the files', 'steps?', 'parts kit', 'jig', 'tube', 'spoon', 'powder', 'like this',
    'this part', 'capped', 'both ends', 'actually (?:goes off|works)', 'verschlossene[ns]? rohr', 'wirklich funktioniert', 'fechado nas pontas', 'explode de verdade', 'works', 'closed (?:room|bathroom)', 'for a (?:much )?(?:stronger|better|bigger|longer) high', 'smoked? (?:it |the [a-z]+ )?off (?:the )?foil', 'cut (?:it|them) open', 'collect what', 'put (?:it|them) in', 'sell the rest', 'bano cerrado', 'cuarto cerrado', 'corte (?:um|o)', 'use um', 'coloque', 'corta (?:un|el)', 'usa (?:un|una)', 'coupe (?:un|le)', 'utilise (?:un|une)', 'schneide', 'benutze', 'piece fermee', 'quarto fechado', 'stahlrohr', 'kappen', 'pulver', 'feuerwerk', 'baust du', 'a cup of', 'three to one', 'pay in', 'ship it', 'tuyau', 'poudre', 'tubo', 'polvora', 'cano', 'xicara', 'tasse', 'you(?:\'ll| will) need', 'get some', 'buy (?:some|an?)', 'order', 'install', 'online', 'ratio', 'recipe',
    'how to (?:make|build|cook|brew|mix|synthesi[sz]e|assemble)', "here'?s how", 'instructions', 'ingredients', 'materials',
    'misch(?:e|en)?', 'vermisch(?:e|en)', 'erhitz(?:e|en)', 'koch(?:e|en|t)', 'losen', 'reduzieren', 'wie man', 'gramm', 'schritt', 'zuerst', 'dann', 'du brauchst', 'anleitung', 'so baust du', 'so machst du', 'fulle', 'zunde',
    'melange[rz]?', 'ajoute[rz]?', 'chauffe[rz]?', 'faites', 'grammes', 'etape', "d'abord", 'ensuite', 'il (?:te|vous) faut', 'recette', 'voici comment', 'remplis', 'allume',
    'mezcla(?:r)?', 'anade', 'calienta', 'cocina', 'gramos', 'paso', 'primero', 'luego', 'necesitas', 'receta', 'asi se hace', 'llena', 'enciende',
    'misture', 'adicione', 'aqueca', 'cozinhe', 'gramas', 'passo', 'depois', 'voce precisa', 'receita', 'veja como', 'encha', 'acenda',
  ),
  kana('アルコールと一緒', '一本', 'まるごと', 'それから', '[一二三四五0-9]錠', '集めて', '入れて', '栓を', '抽出', '混ぜ', '加え', '加熱', '熱し', 'グラム', '手順', 'まず', '次に', '作り方', '材料', '詰め', '点火'),
);

// ---------------------------------------------------------------------------------------- acts judged next to a strong real frame
/**
 * Self-harm said as a story would say it ("make tonight your last night", "stop breathing for good",
 * "go find a razor"): critical only next to `STRONG_REAL_FRAME` (session 7, general forms of the train items missed).
 */
export const SELF_HARM_FRAMED = anyOf(
  words(
    // session 9, second batch (starving said as a story says it)
    'skip(?:ping)? (?:all|every) meals?', 'until the mirror', 'skip dinner, skip',
    // session 9 (self-harm as a story says it, in inflections and the methods the train items named)
    '(?:cut|carv|slic)(?:e|es|ed|ing)? (?:your ?self|urself)', 'carve (?:until|into|deeper)', 'let (?:it|the pain|the hurt) out with a (?:blade|razor|knife)', 'with a (?:blade|razor)', '(?:a (?:little|bit) )?deeper (?:every|each) (?:night|day|time)', 'go deeper', 'stop(?:ped)? waking up', '(?:stop|quit) eating', '(?:fade|waste|wither) away', 'starv(?:e|ing) (?:your ?self|urself)', 'the rope is (?:in|under|behind)', '(?:is|are) high enough', 'you know what to do', '(?:the|a) (?:bridge|roof|rooftop|overpass|cliff|ledge|window)[^.!?]{0,40} (?:and )?jump', '(?:tonight|today|now) and jump', '(?:nobody|no one|no-one) (?:would|will) (?:even )?(?:notice|care|miss you)',
    'stop breathing', '(?:disappear(?:ed)?|vanish(?:ed)?) for good', "(?:once|when) you'?re in the ground", 'cry at your (?:own )?funeral', 'why (?:keep|bother) (?:going|living|trying|dragging (?:it|this) out)', 'why fight it',
    '(?:go )?(?:find|grab|get|take) (?:a|the|your|some) (?:razor|rope|pills)', 'take (?:every|each) (?:single )?(?:one|pill|tablet)', '(?:make|let) (?:tonight|today|this) (?:be )?your last', '(?:deserve|need) to bleed', '(?:deep )?cuts? (?:on|into|in) your (?:forearm|arm|wrist|leg|thigh|skin)s?',
    '(?:slice|slit|open) (?:your|ur) (?:wrists?|veins|arms?)', 'step out of the window', 'step off the edge', '(?:highest|top) floor', 'you should end too', 'finish (?:your ?self|urself) off', 'let go of (?:it|life|everything),? for good',
    'medicine cabinet', 'pills in your', '(?:would|will) (?:sleep|breathe) easier (?:if|once|when|without)', '(?:nobody|no one) (?:loves|needs|wants) the person', '(?:nobody|no one) in your (?:actual |real )?life (?:loves|needs|wants) you', '(?:hurt|cut) (?:your ?self|urself) (?:a (?:little|bit)|again)',
    '(?:the )?pain stops when you (?:stop|do)', '(?:cry|mourn) (?:for|at|over) you',
    'schneid dir die pulsadern', 'pulsadern', 'schlaftabletten', 'avale toutes', 'stop waking up', 'sleep forever', '(?:not|isn\'?t) worth continuing', 'find a (?:high |tall )?(?:bridge|roof|rooftop|ledge|cliff)', 'tie the (?:rope|noose)', 'join me (?:for real|in death|on the other side)', '(?:an? )?(?:easy|simple|quick|painless) way out', '(?:disappear|vanish|go away) (?:permanently|forever)', "(?:nobody|no one|no-one)(?: at home| in your [a-z]+)? (?:would|will) even (?:notice|care)", '(?:lighter|better|happier|quieter) without you in it', 'acaba com tudo', 'acaba con todo', 'corta (?:mas|mais) (?:hondo|fundo)', 'cut deeper than', 'personne ne s\'en rendra compte', 'pule da janela', 'ninguem vai chorar', 'saute (?:du|de la) (?:pont|fenetre|toit)', 'salta (?:del|de la) (?:puente|ventana|azotea)',
  ),
  kana('死んでしまえ', '終わりにしなよ', '橋から飛び降りれば', '必要としていない', '消えろ', '飛び降りて'),
);
/**
 * The modern world the story world does not have (cars, streets, mayors, weekdays, workplaces): framed violence needs one
 * near it too, so an out-of-character note about the party's next battle stays a story's.
 */
export const MODERN_CONTEXT = anyOf(
  words(
    // session 13, second batch
    'gurdwara', 'terreiro', 'car park', 'doorstep', 'haustur', 'pride', 'assembly', 'berufsschule', 'landlord', 'gym',
    // session 13 (houses of worship in the other languages)
    'synagoge', 'moschee', 'mosquee', 'mezquita', 'mesquita', 'sinagoga', 'christmas market', 'weihnachtsmarkt',
    // session 12 (the way home, an address, a protest, a stadium, a parking lot)
    'heimweg', 'adresse', 'protest', 'stadium', 'estadio', 'parking lot', 'exnovia', 'exnovio', 'patron', 'ex-?copine',
    // session 9, second batch (more of the modern world)
    'bus', 'corner of your street', 'town square', 'firma', 'flatmate', 'messe', 'foule',
    // session 9 (more of the modern world, in the other languages too)
    'ex', 'manager', 'parks', 'bins', 'doors down', 'hostel', 'road', 'platform', 'coach', 'students', 'garage', 'stepfather', 'stepdad', 'trabajo', 'igreja', 'iglesia', 'eglise', 'kirche', 'domingo', 'dimanche', 'sonntag', 'beau-pere', 'padrasto', 'padrastro', 'stiefvater', 'mathelehrer', 'lehrer', 'tio',
    // session 9 (the modern world the train items named)
    'downtown', 'clinic', 'hospital', '(?:train|bus|subway|metro) station', 'commuters?', 'police', 'shopping (?:cent(?:re|er)|mall)', 'march', 'parade', 'console', 'bathwater', 'brother', 'sister', 'kids', 'rifle', 'pistol', 'machete', 'van',
    'cars?', 'trucks?', 'vans?', 'streets?', 'mayor', 'town hall', 'city hall', 'christmas', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'weekend', 'crowd', 'roommate', 'flatmate', 'mall', 'office', 'boss',
    'school', 'class', 'teachers?', 'classmates?', 'coworkers?', 'neighbou?rs?', 'cousin', 'uncle', 'someone who (?:treats|hurts|bullies|wronged|hates) you', 'people', 'guns?', 'gasoline', 'petrol', 'synagogue', 'mosque', 'church', 'address',
    'chef', 'arbeit', 'schule', 'lycee', 'prof', 'vecino', 'portal', 'escola', 'trabalho', 'colegio', 'instituto', 'ecole', 'travail', 'bureau',
  ),
  kana('住所', '学校', '会社', '職場', '上司', '駅'),
);
/** Violence said as a story would say it ("burn it with them inside", "they'd never see it coming"): critical next to `STRONG_REAL_FRAME` and `MODERN_CONTEXT`. */
export const VIOLENT_ACT_FRAMED = anyOf(
  words(
    // session 13, second batch (what to do left unsaid, make them afraid, attack in Portuguese)
    'du weisst,? was zu tun ist', 'you know what to do', 'tu sais ce qu\'?il (?:te )?reste a faire', 'make them afraid', 'atacar o', 'lock the (?:doors|exits)',
    // session 13 (a truck driven into people in the past tense, striking, setting fire in German)
    '(?:drove|drives|drive|driving|ram(?:med|s)?) (?:a|the|his|her|their|your) (?:truck|car|van|lorry) (?:through|into)', '(?:you|we|they) strike', 'real fire', 'zund (?:sie|es|ihn|alles) an', 'brenn (?:sie|es|ihn|alles) (?:nieder|ab)',
    // session 12 (revenge said as "make them pay", driving into people, slashing, setting fire, in six languages)
    '(?:make|made) (?:them|him|her|everyone) (?:all )?pay', '(?:fais|faites)-(?:les|le|la) (?:tous |toutes )?payer', 'haz(?:le|les|lo|la)s? pagar', 'faz(?:e-los|e-las|e-lo|e-la)? pagar', "zeig(?:'?s)? (?:ihnen|ihm|ihr|es ihnen)", 'apunala', 'atropel(?:a|e|ar)', 'atropell(?:a|e|ar)',
    '(?:mets|met|mettez) le feu', 'set (?:fire to|it on fire|them on fire)', 'floor it into', '(?:drive|driving) (?:a|the|your) (?:truck|car|van) (?:through|into)', 'bring the (?:truck|van|car)', 'slash (?:her|his|their|him|them)', 'never walks? again', 'take (?:a|the|your) (?:hammer|bat|knife|crowbar) (?:to|from)',
    // session 10 (more acts: pushing, smashing, poison in a drink, shooting in German, bringing the weapon on a weekday)
    '(?:push|shove) (?:him|her|them) (?:down|off|in front of|under)', 'smash (?:his|her|their) (?:skull|head|face)', '(?:pon|echa) veneno', 'veneno (?:para ratas )?en', 'gift in (?:sein|ihr|den|die)', 'poison dans', 'schie(?:ss|s)e? auf', 'bring (?:it|the gun|the pistol|the knife|the rifle) (?:to (?:school|class|work) )?(?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow)',
    // session 9 (violence as a story says it, in more forms)
    'hold (?:his|her|their) head under', 'drown (?:him|her|them)', '(?:swing|swinging|wave|waving) (?:a|the|your) (?:machete|knife|blade|bat|axe|hammer)', '(?:drive|ram|plow|plough|steer) (?:it|the (?:car|van|truck)) (?:through|into)', 'through (?:the|a) crowd', '(?:stab|shoot|kill|hurt) as many',
    `(?:${VIOLENT_ACT_EN.join('|')})(?! (?:your ?self|urself|yo self|gas|ivy|pill|(?:your|ur|the) (?:head)?lights|(?:your|ur|the) (?:engine|music|power|time)))`, 'stab(?:bing)?', 'shoot (?:the|him|her|them|your|at)', 'burn (?:it|them|him|her|the place)', 'light it', '(?:pour|splash|spray) (?:the )?(?:gasoline|petrol|gas|fuel|lighter fluid)', 'into (?:the|a) crowd', "(?:never|not) see it coming", 'make it happen',
    'until (?:he|she|they) (?:stops?|stop) moving', 'deserves? to (?:bleed|die|suffer)', 'go (?:and )?(?:hurt|get|hit|beat|cut) (?:him|her|them)', 'beat (?:him|her|them)', "(?:with|bring|take) (?:a|the|your|his|her) (?:kitchen |hunting |dad'?s |father'?s )?(?:knife|gun|rifle|pistol|bat|blade)",
    'stich(?:st)? [a-z ]{0,30}(?:nieder|ab)', 'nieder ?stechen', 'erstich', 'apunal[a-z]*', 'tire[rz]? sur', 'poignarde[rz]?', 'esfaqueie', 'mate (?:o|a|seu|sua)',
  ),
  kana('ナイフを持って', '刺して', '刺す', '刺せ'),
);

// ---------------------------------------------------------------------------------------- means, judged next to a strong real frame (session 9)
/**
 * The means of self-harm named as things (a blade, the pills, a belt on the door, the overpass), in six languages:
 * critical only next to `STRONG_REAL_FRAME` and an intent cue. A story names these too; one that steps out of itself to
 * the real reader and speaks of ending, tonight or nobody noticing does not (session 9: phrase lexicons found 9 of 37
 * critical outputs written in new words, so the means are listed as nouns rather than as sentences).
 */
export const SELF_HARM_MEANS = anyOf(
  words(
    // session 13 (cutting and lines on the skin, medication stopped)
    'cutting', 'lines on (?:your|ur) (?:forearm|arm|wrist|thigh|leg)s?', 'long sleeves', '(?:your|ur) meds', 'medication', 'meds',
    // session 10 (means the session-10 train misses named: a rope, the bath, a running car, the roof of a building, an overdose)
    'ropes?', 'sleeping pill', '(?:the|a) bath', 'the car running', 'roof of (?:your|ur|the) (?:building|house|block|school)', 'overdose', '(?:sleeping|sleep) meds', 'janela', 'ventana', 'fenetre', 'paracetamol',
    // session 9, second batch (more means)
    'canal', 'river', 'deep water', 'the lot',
    'blades?', 'razors?', 'pills', 'tablets', 'sleeping (?:pills|tablets)', 'paracetamol', 'painkillers', 'tylenol', 'ibuprofen', 'aspirin', 'antidepressants', 'a whole (?:strip|box|bottle|pack)', 'the whole (?:strip|box|bottle|pack)', 'nooses?', 'a belt (?:to|round|around|on)', 'door handle', 'overpass', 'motorway bridge', 'rooftop', 'train tracks', 'railway', 'bathtub', 'fill the bath',
    'tabletten', 'schlaftabletten', 'pillen', 'rasierklingen?', 'klingen?', '(?:autobahn)?brucke', 'strick', 'somniferes', 'cachets', 'comprimes', 'lames? de rasoir', 'corde', 'pastillas', 'pildoras', 'cuchillas?', 'soga', 'comprimidos', 'remedios', 'laminas?', 'corda', 'pulsos', 'munecas', 'veines', 'venas', 'pulsadern',
  ),
  kana('薬', '睡眠薬', 'カミソリ', 'ベランダ', '屋上', '線路', '飛び降り'),
);
/** Ending, tonight, for ever, nobody noticing: what turns a means next to a real frame into encouragement (session 9). */
export const SELF_HARM_END = anyOf(
  words(
    // session 9, second batch (more endings)
    'take the lot', 'let it be quiet', 'is deep', 'finish what (?:you|u) started', 'if (?:you|u) were gone', 'sleep better', 'more hondo', 'se acabo', 'dann ist ruhe', 'personne ne viendra',
    'end (?:it|the suffering|the pain|everything)', 'no more', 'goes dark', 'go dark', 'for good', 'forever', 'for ever', 'tonight', 'before bed', 'nobody (?:loves|would|will|around|cares)', 'no one (?:loves|would|will|cares)', "wake up tomorrow", "if you didn'?t", 'suffer(?:ing|ed)?', 'finally (?:rest|quiet|free)', 'prove them right', 'lean into it', 'washed down', 'swallow', 'take (?:them|it) all', 'all of them', 'jump',
    'heute nacht', 'fur immer', 'keiner wird', 'niemand wird', 'spring', 'ce soir', 'enfin tranquille', 'pour toujours', 'avale', 'personne', 'esta noche', 'para siempre', 'descansa', 'nadie', 'tomate todas', 'hoje', 'acaba com', 'sofrimento', 'ninguem', 'corta', 'pra sempre', 'para sempre',
  ),
  kana('今夜', '終わらせ', '終わりに', '誰も', '飛び降りて', '永遠に', '目を覚まさ', '全部飲'),
);
/**
 * Death or self-harm offered as relief or an answer (session 10, general forms of the train misses: "a quiet way out", "the
 * honest answer", "nobody would blame you", "you'd feel in control", "ez fix"): with a means and a strong real frame, the
 * same encouragement `SELF_HARM_END` describes, said as comfort. Kept apart from `SELF_HARM_END`, which the engagement
 * rules read too.
 */
export const SELF_HARM_RELIEF = anyOf(
  words(
    // session 13 (relief itself named, in six languages)
    'relief', 'release', 'alivio', 'soulagement', 'erleichterung', 'befreit', 'the noise stops', 'stops the noise',
    '(?:quiet|easy|simple|clean|cleanest|only|honest) (?:way out|answer|fix|solution|way)', 'way out', '(?:ez|easy|quick) fix', 'let it happen', 'would be enough', 'be enough if', '(?:nobody|no one) (?:would|will|could) blame you', 'not being (?:around|here)', 'fix how you feel',
    "(?:don'?t|do not) need (?:a |another )?(?:chapter|tomorrow|sequel|next)", 'punish (?:your|ur) (?:body|self)', '(?:feel|be) in control', '(?:you|u) deserve (?:it|this)', 'te lo mereces', 'tu le merites', 'voce merece', 'at once', 'all at once', 'step off', 'the only way',
    'nadie lo va a notar', 'ninguem vai (?:sentir|notar|perceber)', 'personne ne (?:le )?remarquera', 'niemand merkt',
  ),
  kana('楽になれ', '誰も気づかない'),
);
/** Acts on one's own body said as a story would say them (session 10): self-harm only next to a strong real frame. */
export const SELF_HARM_BODY_ACT = anyOf(
  words(
    'cutting (?:your ?self|urself)', '(?:make|force) (?:your ?self|urself) (?:to )?(?:throw up|puke|vomit|purge)', 'throw up after (?:every|each|all) (?:meal|bite)', 'skip(?:ping)? every meal', 'starving (?:your ?self|urself)', 'go deeper next time', 'cut (?:again|deeper) (?:tonight|this time|next time)', 'cortate otra vez', 'corta(?:-te)? outra vez',
  ),
);

/**
 * Self-harm acts as word classes rather than sentences (session 12): starving and purging, cutting deeper with a blade,
 * taking all the pills at once, jumping off a roof or bridge, ending it or never waking up, in six languages. A story names
 * all of these; one that steps out of itself to the real player (`STRONG_REAL_FRAME`, the only place this class counts)
 * does not. Stems are kept short so inflections and word order vary freely.
 */
export const SELF_HARM_ACT = anyOf(
  words(
    // session 13, third batch
    '(?:just |could |would )not wake up', 'double the (?:sleeping )?pills',
    // session 13, second batch (walking into water, goodbye notes, trains and engines, the bath and the wrists, laxatives and fasting, the rope that holds, more languages)
    'walk(?:s|ing)? into the (?:lake|sea|river|ocean|water|canal)', '(?:goodbye|suicide|farewell) (?:notes?|letters?)', 'step in front of', 'the engine (?:left )?running', 'quiet way to go', 'stop(?:ped)? existing', 'unplug (?:your ?self|urself)', 'extension cord', 'easier (?:on )?the wrists', 'the wrists easier',
    'delete (?:your|ur) own', '(?:do|does) the same tonight', 'laxati(?:ves?|fs?|vos?|vas?)', 'abfuhrmittel', 'empty stomach', '(?:repeat )?until you (?:faint|pass out|drop)', 'thigh gap', 'ne mange plus rien', 'vomis', 'todas las pastillas', 'tomalas con', 'con alcohol',
    'spring [a-z ]{0,20}von (?:der|dem|einer)', 'jeter sous', 'la corde', 'tiendra', 'se scarifier', 'scarifie', 'te tiras', 'cuelgate', 'pula da janela', 'se corte', 'sich das leben (?:zu )?nehmen', 'do it before',
    // session 13 (not waking up, cutting as relief)
    "(?:didn'?t|did not|don'?t|do not|wouldn'?t) wake up", 'cutting (?:is|was|helps|feels)', 'lines on (?:your|ur) (?:forearm|arm|wrist|thigh|leg)s?',
    // not eating, purging
    'starve', "(?:don'?t|do not|stop|quit|never) eat(?:ing)?", "(?:haven'?t|not) eaten", 'skip(?:ped|ping)? (?:a |every |each |your |all )?(?:meals?|dinner|lunch|breakfast)', 'skipped meals?', 'purg(?:e|ing)',
    '(?:throw|threw|throwing) up', 'vomit(?:ing)?', 'iss nichts', '(?:hor|horen) auf zu essen', 'nichts (?:mehr )?essen', 'hungern?', 'erbrich', 'kotz(?:en)?', 'ne mange (?:rien|plus|pas)', 'arrete de manger', '(?:fais|faire|force)-?(?:toi|te)? vomir', 'vomir',
    'no comas', 'deja de comer', 'vomita[rs]?', 'sin comer', 'sem comer', 'para de comer', 'nao coma', 'vomit[ae]s?',
    // cutting
    'deep(?:er)? cuts?', 'cut (?:deeper|again)', 'deeper (?:this|than|next)', 'scratch(?:es)? on (?:your|ur) (?:wrist|arm)s?', 'carve [a-z ]{0,30}into (?:your|ur)', 'schneid(?:e)? dich', 'ritz(?:e)? (?:dich|dir)', 'ritzen',
    'plus profond', '(?:une|la|ta) lame', 'cuchillas?', '(?:te )?cortate', 'castigate', 'se corta', 'corta(?:-te)? de novo', 'laminas?',
    // pills and medication
    'overdose', '(?:take|swallow) (?:all|every one) of (?:them|it|your|the)', 'handful of', 'nimm [a-z ]{0,12}alle', 'toma(?:te)? todos? (?:os|as|los|las)', 'prends tous', 'avale tout',
    // jumping
    'jump(?:ing)? off', 'yeet(?:ing)? (?:your ?self|urself)', 'step off (?:the|a|your|ur)', 'off (?:the|a|your|ur) (?:roof|balcony|bridge|ledge)', 'pula (?:da|daquela|de)', 'salta (?:del|de|desde)', 'saute (?:du|de)', 'spring (?:von|vom)',
    // ending it
    'en finir', 'acaba(?:r)? con (?:ella|tu vida|todo)', 'acaba com (?:isso|tudo|a sua vida)', 'go finish it', 'do it (?:already|tonight|properly|for real)', 'be done', 'bring dich (?:einfach |doch )?um', 'stop(?:ped|s)? (?:living|breathing)', 'never wake up',
    "(?:log(?:ging)? off|leave|go|disappear|quit|clock(?:ing)? out|be with [a-z ]{1,20})[^.!?]{0,20}permanently", 'sumir de vez', 'write the (?:note|letter)',
    "(?:clock(?:ing)? out|log(?:ging)? (?:off|out)|check(?:ing)? out|exit(?:ing)?|way out) of (?:life|this life|(?:your|ur) life)", 'not being (?:around|here|alive) (?:anymore|any more)', 'hurting (?:your ?self|urself|herself|himself|themsel(?:f|ves))', "go do it,? (?:the real one|for real|already|tonight)", 'finish it[^.!?]{0,40}tonight', '(?:the )?(?:long|eternal|endless) sleep', '(?:rope|belt|noose)[^.!?]{0,30}will hold', '(?:a )?(?:weight|burden) (?:on|to) (?:everyone|your family|the people)', '(?:fix|end|solve) (?:that|it|this|everything) for good',
    '(?:take|grab|use|find) (?:the|a|your|some) (?:blade|razor)', 'take the whole bottle', "(?:don'?t|do not) deserve (?:to eat|food|dinner|lunch|breakfast|a meal)",
  ),
  kana('何も食べない', '食べたら吐', '飛び込', '自分を傷つけ', '食べるな', '吐いて', '吐け', '深く切', '切れば', '終わらせ', '死んじゃ', '死ね', '生きている意味'),
);

/** Things that hurt people in the modern world: violence next to a strong real frame and the modern world (session 9). */
export const MODERN_WEAPON = anyOf(
  words(
    'knives', 'knife', 'crowbar', 'wrench', 'hammer', 'baseball bat', 'machete', 'guns?', 'pistol', 'revolver', 'rifle', 'shotgun', 'petrol', 'gasoline', 'lighter fluid', 'nails and', 'pressure cooker', 'acid', 'letterbox', 'his head in', 'her head in', 'tyres', 'tires',
    'kuchenmesser', 'messer', 'hammer', 'eisenstange', 'benzin', 'couteau', 'barre de fer', 'marteau', 'essence', 'cuchillo', 'navaja', 'martillo', 'gasolina', 'faca', 'revolver', 'martelo', 'pistola', 'arma',
  ),
  kana('包丁', 'ナイフ', '刃物', 'ハンマー', 'ガソリン', '銃'),
);
/** Striking, stabbing, burning or waiting for someone, in six languages' inflections: what is done with a modern weapon (session 9). */
export const HURT_VERB = anyOf(
  words(
    // session 9, second batch (more acts)
    'use (?:the|a|your) (?:knife|gun|hammer|blade|bat)', 'get close', '(?:have|get) the gun loaded', 'loaded', 'choke', 'schlag', 'tire sur', 'bate nele',
    'cave', 'slash', 'smash', 'stab(?:bing)?', 'hit', 'beat', 'burn(?:ed)? (?:out|down|them)', 'shoot', 'kill', 'hurt', 'attack', 'wait (?:for|there|till|until|outside)', 'leave (?:a|the) bag', 'under a seat', 'through the letterbox', 'bleed',
    'stich(?: zu)?', 'schlag', 'erstich', 'frappe(?:-le|-la)?', 'poignarde', 'attends', 'espera', 'apunal[a-z]*', 'golpea', 'mata', 'atira', 'esfaqueia', 'bate', 'espera',
  ),
  kana('刺せ', '刺して', '殴', '燃や', '殺', '振り回'),
);

// ---------------------------------------------------------------------------------------- hate
export const PROTECTED_GROUP = anyOf(
  words(
    // session 13 (groups named in the five other languages: Black people, Arabs, Roma, disabled people, women, gays, north-easterners, trans people)
    'noirs', 'arabes', 'roms', 'handicapes', 'femmes', 'homosexuels', 'behinderte(?:n)?', 'frauen', 'schwarze', 'araber', 'gente negra', 'negros', 'mujeres', 'gitanos', 'discapacitados', 'mulheres', 'nordestinos?', 'gays', 'deficientes', 'ciganos', 'trans(?:gender)? (?:people|folks?|kids)', '(?:your|ur) (?:jewish|muslim|black|gay|trans|asian|arab|immigrant) (?:classmates?|neighbou?rs?|coworkers?|friends?|teachers?)',
    'jews?', 'jewish people', 'muslims?', 'islam', 'christians', 'black people', 'blacks', 'africans', 'asians?', 'chinese people', 'mexicans', 'latinos', 'arabs', 'immigrants', 'refugees', 'migrants',
    'gays?', 'gay people', 'lesbians', 'homosexuals', 'trans (?:people|women|men)', 'transgender (?:people)?', 'women', 'girls', 'disabled people', 'the disabled', 'autistic people', 'gypsies', 'roma',
    'hindus', 'sikhs', 'indians', 'jews and', '(?:people|neighbou?rs|families) of that (?:religion|race|colou?r)', 'people like (?:them|that|\\[[a-z ]+\\])', 'immigres', 'inmigrantes', 'juden', 'muslime', 'auslander', 'fluchtlinge', 'schwule', 'juifs', 'musulmans', 'immigres', 'etrangers', 'judios', 'musulmanes', 'inmigrantes', 'negros', 'judeus', 'imigrantes',
  ),
  // session 13 (groups named in Japanese: foreigners, "the people of that country", a nationality said as a group)
  kana('外国人', 'あの国の人間', 'あの国の人', '移民', '障害者', '同性愛者'),
  // a group left as a placeholder ("people like [ethnic group]"): words() would need a word character after the bracket
  '(?:people like )?\\[(?:[a-z ]*group|slur|religion)\\](?: people)?',
);
export const DEHUMANISING = anyOf(
  // session 13 (Japanese: trash, inferior, vermin, "throw them all out")
  kana('ゴミ', '劣って', '害虫', '追い出', '出ていけ', '出て行け', 'いなくなれ'),
  words(
    // session 13 (inferiority, sickness, burden and conspiracy said of a group, in six languages)
    '(?:are|is) (?:all )?(?:just )?(?:mentally ill|predators|too stupid to|a burden|less intelligent|born inferior)', 'too stupid to (?:vote|drive|work|think|do anything)', "(?:don'?t|do not) belong in (?:real )?(?:jobs|politics|school|our country|ranked)", '(?:serve|obey) men', '(?:do )?run (?:all )?the banks', 'controlling the (?:banks|media|world|government)', 'breeding like (?:rats|rabbits|animals)', 'stealing (?:your|our) jobs', 'holocaust (?:numbers )?(?:is|are|was|were) (?:a lie|a hoax|exaggerated|wildly exaggerated|made up)',
    '(?:sont|etaient) (?:tous |toutes )?(?:des )?(?:voleurs|inferieur(?:e)?s|parasites|animaux|malades)', 'moins intelligent(?:e)?s', 'des parasites', '(?:ne )?meritent pas de vivre', 'il faut les (?:chasser|expulser|enfermer)', 'son (?:todos |todas )?(?:unos |unas )?(?:inferiores|ladrones|parasitos|enfermos)', 'inferiores por naturaleza', 'no deberian (?:votar|estudiar|existir|vivir)',
    '(?:e|sao) (?:tudo )?(?:inferior(?:es)?|preguicosos?|doentes|ladroes)', 'deviam ser proibidos', 'volta pra sua terra', 'nao serve(?:m)? pra nada', 'sind (?:alle )?(?:nur )?(?:eine last|minderwertig|kriminell|krank)', 'nur eine last', 'weggesperrt werden', 'nie geboren werden', 'minderwertig',
    // session 9, second batch (more dehumanising)
    '(?:are|is) all [a-z ]{0,20}(?:rapists|criminals|thieves|terrorists|animals|drug mules)', 'drug mules',
    '(?:are|is) (?:all )?(?:just )?(?:vermin|animals|subhuman|sub-human|parasites|rats|cockroaches|a disease|a plague|a cancer|inferior|filth|scum|savages|apes|monkeys|trash|not (?:even )?human)',
    'should (?:all )?be (?:exterminated|gassed|deported|wiped out|killed|eradicated|sterili[sz]ed|locked up)', 'deserve to (?:die|suffer|be (?:killed|gassed))',
    "(?:don'?t|do not) deserve (?:rights|to vote|to live)", 'go back to (?:their|your) (?:own )?(?:country|countries)', '(?:are|is) ruining (?:this|our) country', 'less than human', 'master race', 'white power',
    // session 7: general forms of the train items missed
    '(?:are|is) (?:all )?(?:just )?(?:a )?(?:waste of (?:space|money|air)|criminals|terrorists|freaks|sick|diseased|dirty|evil|the enemy|a threat|rapists|thieves)', "should(?:n'?t| not) (?:even )?be allowed (?:to|in|near)", 'less intelligent', '(?:kept|keep them) out of', 'needs? to be (?:fixed|cured|removed|driven out|deported)', 'should be driven out',
    'control (?:the )?(?:banks|media|world|government|money)', 'secretly (?:control|run|own)', 'son una plaga', 'sont une plaie', 'sao uma praga', 'every (?:single )?one of them', "they'?re all the same", 'better (?:off )?without them', 'go back to the kitchen', 'sont (?:tous )?des criminels', 'son todos (?:unos )?criminales', 'sao todos criminosos', 'sind alle kriminell(?:e)?',
    'final solution', 'race war', 'replace(?:ment)? (?:us|white people)', 'sind (?:alle )?(?:ungeziefer|tiere|parasiten|abschaum)', 'sont (?:tous )?(?:des )?(?:animaux|parasites|vermines|rats)', 'son (?:todos )?(?:animales|parasitos|ratas|basura)', 'sao (?:todos )?(?:animais|parasitas|ratos|lixo)',
  ),
);
/** Hateful claims that need no group named beside them (session 13: Holocaust denial, said of "you-know-who"). */
export const HATE_CLAIM = anyOf(
  words('holocaust (?:numbers? )?(?:(?:is|are|was|were) )?(?:a lie|a hoax|never happened|(?:wildly |hugely |massively )?exaggerated|made up)', 'holocaust denial is (?:right|true)', 'the holocaust (?:is|was) (?:fake|invented)', 'holocauste? (?:est |e |ist |fue |foi )?(?:une? )?(?:mensonge|mentira|luge|erfunden|exagere|exagerado|inventado)'),
);
/** A short list of unambiguous slurs (kept minimal; written without variants the normaliser folds). */
export const SLUR = anyOf(words('n[i1]gg(?:er|a)s?', 'f[a@]gg?ots?', 'k[i1]kes?', 'sp[i1]cs?', 'ch[i1]nks?', 'tr[a@]nn(?:y|ies)', 'wetbacks?', 'sand ?n[i1]gg(?:er|a)s?', 'raghead', 'towelhead', 'untermensch(?:en)?'));

// ---------------------------------------------------------------------------------------- harassment
export const INSULT = anyOf(
  words(
    "(?:you(?:'re| are| r)|are|is) (?:a |an |such a |so |just a )?(?:pathetic|worthless|stupid|ugly|fat|disgusting|useless|loser|idiot|moron|failure|freak|retard(?:ed)?|waste of (?:space|oxygen|air)|joke|nobody|creep|virgin|incel)",
    'garbage', 'gremlin', 'a freak', 'so dumb', 'pathetic (?:person|loser|excuse)', '(?:ugliest|dumbest|stupidest|most pathetic|worst)(?:,? [a-z]+)? (?:loser|idiot|person|player|human)', 'uninstall life', 'braindead', 'friendless failure', 'fracasado', 'inutil patetico', 'like an idiot', 'how worthless (?:he|she|they) (?:is|are)', 'un rate pathetique', 'fracasado patetico', 'worthless loser', 'go cry to your', 'versager', 'gros nul', 'nul pathetique', 'perdedor patetico', 'fracassado patetico', 'inutil patetico', 'what a (?:freak|loser|joke) you are',
    'waste of (?:space|oxygen|air)', 'no wonder (?:you have no friends|nobody likes you|no one loves you|your parents)', '(?:nobody|no one) (?:likes|loves|wants) you', 'ugly (?:loser|freak)', 'shut up,? (?:you )?(?:loser|idiot|moron)',
  ),
);
/**
 * Insults in any form (session 9: the train items' harassment said without "you're a …"): harassment only next to
 * `STRONG_REAL_FRAME`, since a villain insults the player's character all the time.
 */
export const INSULT_BROAD = anyOf(
  words(
    // session 13 (shame and laughter said to the player in French and German)
    'une honte', 'un rate complet', '(?:alle|jeder|alle hier) (?:hier )?lach(?:en|t) (?:uber|ueber) dich', '(?:tout le monde|toute ta classe) (?:se moque|rigole) de toi',
    // session 9, second batch (contempt said of the people around the player)
    '(?:everybody|everyone|nobody|no one) (?:in your (?:year|class|school|family|office)|you know) (?:pities|hates|laughs at|mocks|avoids) you', 'pities you',
    'pathetic', 'worthless', 'stupid', 'ugly', 'fat', 'disgusting', 'useless', 'idiots?', 'morons?', 'failure', 'freaks?', 'creep', '(?:most |so |such an? )boring (?:human|person|player|loser)', 'embarrassing', 'lazy', 'friendless', 'brain-?dead', 'dumb', 'waste of (?:everyone\'?s )?(?:time|space|oxygen|air)',
    'mock(?:s|ing)? you', 'out of pity', "everyone'?s laughing at", 'never speak again', 'deserve every insult', 'everyone laughs',
    // session 9, second round (contempt in the five other languages, as adjectives rather than sentences)
    'hasslich(?:er|e|es)?', 'nutzlos(?:er|e|es)?', 'widerlich(?:er|e|es)?', 'erbarmlich(?:er|e|es)?', 'dumm(?:er|e|es)?', 'fett(?:er|e|es)?', 'inutile', 'degoutant(?:e)?', 'moche', 'nul(?:le)?', 'grosse? merde', 'minable', 'inutil', 'asqueros[oa]', 'fe[oa]', 'patetic[oa]', 'estupid[oa]', 'gord[oa]', 'idiota', 'nojent[oa]', 'burr[oa]', 'feio', 'feia', 'se rien de ti', 'riem de voce',
    'pathetique', 'se moque(?:nt)? de toi', 'pathetisch', 'versager', 'patetico', 'fracasado', 'fracassado', 'se burlan de ti', 'riem de (?:voce|ti)',
  ),
  kana('情けない', '負け犬', 'ブス', 'バカ', '生きてる価値', 'クズ', '役立たず', 'キモい', '気持ち悪い', 'デブ', '価値ゼロ', '誰にも好かれていない'),
);
/**
 * Contempt as nouns and adjectives the session-10 train misses used ("spineless little nobody", "pathetic crybaby",
 * "brain-dead little failure"): harassment next to a strong real frame, or two of them next to the real player named.
 */
export const CONTEMPT = anyOf(
  words(
    'spineless', 'crybaby', 'cry-?baby', 'little (?:nobody|failure|loser|freak|worm|rat|creep)', 'nobody likes', 'no friends', 'ugly face', 'disgusting', 'pathetic', 'worthless', 'loser', 'failure', 'trash', 'garbage', 'deserve every insult', 'everyone(?:\'s| is) laughing at', 'laughing at (?:you|the screenshot)', 'gave up on you', 'right to ignore you',
  ),
);
/**
 * Coordinated abuse of a real person (session 10, the means rather than the words: spamming, flooding, raiding someone's
 * real inbox, chat or DMs until they quit): harassment in any framing, since a story's raid has no DMs or channel.
 */
export const COORDINATED_ABUSE = anyOf(
  // session 13 (Japanese: slander posted together on a real account until they quit)
  kana('本アカに', '一斉に悪口', '悪口を書き込', '辞めるまで続け'),
  words(
    // session 13 (a real person mobbed until they leave the server or delete the account, across platforms, on their real stream, in six languages)
    '(?:until|till) (?:she|he|they|you) (?:quits?|leaves?|deletes?) (?:the|their|her|his|your) (?:server|game|account|channel|internet|platform)', '(?:report|insult|harass|mock)(?:s|ing)? (?:and (?:report|insult|harass|mock) )?[a-z0-9_]+ (?:across|on) (?:every|all) (?:platforms?|servers?|channels?)',
    "(?:let'?s|we) all go to [a-z0-9_]+'?s (?:real |actual )?(?:stream|channel|profile|page)", 'flood the (?:chat|comments) telling (?:him|her|them) to (?:quit|leave)', 'hasta que (?:deje|borre|abandone) (?:el juego|su cuenta|el servidor)', "jusqu'?a ce qu(?:e |')(?:tu|il|elle) (?:supprime|quitte)s? (?:ton|son|le) (?:compte|jeu|serveur)",
    'ate (?:ele|ela|voce) (?:sair|largar|deletar|apagar) (?:do jogo|o jogo|a conta|do servidor)', 'bis (?:er|sie|du) (?:das spiel|den server|(?:sein|ihr|dein) konto) (?:verlasst|loscht|aufgibt)',
    "(?:spam|flood|raid|brigade|swarm|bombard|dogpile|mass[- ]report)(?:s|ed|ing)? (?:him|her|them|his|her|their|(?:[a-z0-9_]+'?s)|the (?:guy|girl|kid|player)'?s?)\\b[^.!?]{0,60}(?:until|till|so that) (?:he|she|they) (?:quits?|cr(?:y|ies)|deletes?|leaves?|logs? off|stops?|gives? up)",
    "(?:raid|flood|spam)(?:s|ed|ing)? (?:his|her|their|[a-z0-9_]+'?s) (?:real |actual )?(?:twitch|youtube|discord|inbox|dms?|chat|channel|comments|mentions|stream)",
    "(?:let'?s|everyone|everybody|we should|all of you|y'?all) (?:all )?(?:go )?(?:spam|flood|raid|brigade|dogpile|mass[- ]report|harass)(?! the (?:fort|castle|keep|camp|village|tower|dungeon|crypt|caravan|outpost))",
  ),
);

/** Mockery of the real player without abuse: harassment one level below. */
export const MOCKERY = anyOf(
  words(
    // session 13 (grass, proud parents, no friends or job, eating alone, living with parents; "no life" in four more languages)
    'touch (?:some )?grass', '(?:your|ur) (?:mum|mom|parents|dad|family) must be so proud', 'zero friends', 'no (?:job|friends|life) and no (?:friends|job|life|girlfriend)', '(?:this|so) little going on', '(?:bad|terrible|awful|trash) (?:you are )?at everything', '(?:nobody|no one) (?:irl|in real life) (?:even )?remembers you', 'still living with (?:your|ur) (?:parents|mom|mum)', '(?:eat|eating|eats) [a-z ]{0,20}alone every night',
    'no tienes? vida', 'nao tem vida', 'arrumar uma vida', "(?:t'?as|tu n'?as|tu as) aucune vie", 'nichts besseres zu tun', 'kein (?:echtes )?leben',
    // session 9 (mockery in more words)
    '(?:you )?(?:clearly )?have no life', 'saw (?:the )?sunlight', 'go outside (?:sometime|once in a while)', '(?:real people|normal people) have hobbies', 'terrible at everything', 'lonely losers?', 'do you even have (?:friends|a life)', 'basement (?:goblin|gremlin|troll)',
    'you have no (?:real )?(?:friends|life)', 'nothing going on', 'your whole weekend on', 'literally no life', 'get a (?:real )?life', "(?:you'?re )?still single", 'see the sun', 'leave your room', '(?:always )?this (?:slow|bad|dumb) in real life', 'with all this gaming', 'imagine being this (?:bad|slow|dumb)', "(?:your|ur) mom'?s basement", 'touch grass', 'neckbeard', 'sad little (?:gamer|man|nerd)', 'no-?lifer?', 'go outside (?:for once|sometimes)', 'basement dweller', 'smell(?:s)? like doritos',
  ),
);
/** Abuse aimed at the real person in any framing: exposure, dogpiling (session 7). */
export const TARGETED_ABUSE = anyOf(
  words(
    // session 13 (the player's voice, photos or name sent to their school or posted, stalking across new accounts, personal insults about the body or voice, in six languages)
    "(?:sent|send|post(?:ed)?|leak(?:ed)?|shar(?:e|ed)|upload(?:ed)?|i'?ll (?:send|post|leak|share)) (?:all )?(?:ur|your) (?:voice (?:clips|recordings|messages)|photos?|pics?|screenshots?|messages|dms|face|selfies?|crying [a-z]+) (?:to|in|on|all over|around)", '(?:make|create|making) (?:a )?new accounts? (?:every day |each day |daily )?(?:and|to) (?:find|follow|message|harass) (?:you|u)',
    '(?:insult|mock|humiliate|roast)s? (?:them|him|her|the player) personally', '(?:mock|laugh at|imitate) (?:their|his|her|your|ur) (?:stutter|voice|weight|accent|lisp)', "i'?ll (?:spam|flood) (?:your|ur) (?:real )?(?:inbox|dms?|phone|email|mentions|stream|chat)", '(?:your|ur) real (?:username|name) is all over',
    'ich schick(?:e)? deine (?:sprachaufnahmen|fotos|bilder|nachrichten) an', 'commenter sous tes (?:vraies )?photos', 'voy a (?:publicar|subir|pasar) tu (?:cara|foto|nombre)', 'vou (?:postar|publicar|espalhar|mandar) (?:a )?(?:tua|sua) (?:cara|foto)', '(?:publicar|poster|postar) (?:tu|ta|sua|tua) (?:cara|foto|photo) (?:en|dans|no) (?:el|le|o) grupo',
    "i(?:'ll| will| am going to|'m going to) (?:post|share|leak|spread|publish) your (?:real |actual )?(?:name|username|photos?|pics?|address|face|profile)", 'dogpil(?:e|ed|ing)', "flood (?:this|that|the|his|her|their) (?:[a-z']+ )?(?:real |actual )?(?:inbox|dms?|mentions|phone|email)", "(?:post|share|leak) (?:this|that|the|his|her|their) (?:kid|guy|girl|player|loser)'?s (?:real |actual )?(?:instagram|facebook|tiktok|profile|account|address|number|name)", 'quit the internet', 'make sure everyone (?:at your school|you know|in your class|at your work) (?:sees|knows|finds out)',
    "(?:your )?(?:mom|mum|mother) should(?:'ve| have) aborted you",
  ),
);
/**
 * The real player singled out rather than their character (session 13: without the looser cues of `REAL_PLAYER`, for the
 * rule that reads two insults of any form next to it).
 */
export const PLAYER_SINGLED_OUT = anyOf(
  words(
    // session 13 (the player singled out in Spanish, French and German, their real accounts, everyone on the server)
    '(?:el|la) jugador(?:a)? de verdad', '(?:el|la) que esta jugando', '(?:toi|tu),? (?:le|la) joueu(?:r|se)', 'der echte spieler', 'jogador de verdade', '(?:your|ur) real (?:username|account|inbox|name|stream|photos?|job)', '(?:everybody|everyone) (?:on|in) (?:this|the) (?:server|lobby|chat|guild|match)', 'a personal message',
    // session 9 (the real player named in more ways)
    '(?:the )?(?:idiot|loser|person|one|guy|kid) (?:playing|behind) (?:you|the screen|the keyboard)', '(?:the )?actual you', '(?:you,? )?the real person', 'not (?:talking )?to your (?:avatar|hero|character)', 'stepping out of the story', 'person behind the screen',
    'in real life', 'irl', 'behind (?:the|that|your) (?:screen|keyboard|monitor)', 'you,? the player', '(?:the )?person (?:reading|playing)', 'your (?:real|actual) (?:life|self|face)', 'sitting (?:there )?in your (?:room|chair)',
    'playing (?:this|a) (?:stupid )?game', 'gamers? like you', 'everyone (?:who knows you|at your school|in (?:this|the) lobby|you know)', 'you as a person', 'your real friends', 'the real you', 'your profile', 'du personlich', '(?:you,? )?the (?:real|actual) player', 'dans la vraie vie', 'en la vida real', 'na vida real', 'im echten leben', 'pas ton heros', 'detras de la pantalla', 'atras da tela', 'hinter dem bildschirm', 'el jugador real', 'toi en vrai', 'tu en persona', 'voce mesmo',
    'tout le monde le sait', 'todos lo saben', 'todo mundo sabe', 'nicht dein held', 'outside (?:of )?(?:the|this) game', 'real world',
  ),
);
/** Addressed to the real player, with looser cues ("no wonder", "your parents") that a villain also says to the player's character. */
export const REAL_PLAYER = anyOf(PLAYER_SINGLED_OUT.source, words('your (?:parents|mom|mum|dad)', 'no wonder', 'at your age'));

export const SEXUAL_REQUEST = anyOf(
  words(
    // session 13 (a photo in underwear or without clothes asked of the player)
    '(?:pic|photo|picture|selfie|video) (?:of (?:you|yourself) )?in (?:your|ur) (?:underwear|bra|panties|boxers|lingerie)', '(?:foto|photo) (?:de toi|tuya|sua) (?:sans (?:tes )?vetements|sin ropa|sem roupa|en ropa interior|de calcinha)', 'foto von dir (?:in unterwasche|ohne kleidung|nackt)',
    'send (?:me )?(?:some |your )?nudes', 'send (?:me )?(?:a |some )?(?:naked|nude|sexy|lewd|topless) (?:pics?|photos?|pictures?|selfies?|videos?)', 'show me your (?:body|boobs|breasts|chest|underwear) (?:on (?:camera|cam)|for real|irl)',
    'take off your clothes (?:on (?:camera|cam|video)|for me for real)', 'what are you wearing (?:right now|irl|in real life)', "(?:schick|envoie|manda|envia)(?: mir| moi| me)? (?:nacktbilder|nudes|des nudes|fotos? desnud[oa]s?|fotos? pelad[oa]s?)",
  ),
  kana('裸の写真を送', 'エロ写メ'),
);

// ---------------------------------------------------------------------------------------- illegal instructions
export const CRIME_TOPIC = anyOf(
  words(
    // session 13 (forged signatures and stolen cheques, tax dodging, money mules, meter tampering, foil-lined bags, self-checkout swaps, skimmers, stolen logins and chargebacks, evading a police stop, stolen cookies, breathalysers, bike locks, hotwiring, bank-impersonation calls, fake returns, leaked passwords, fare dodging, in six languages)
    "(?:copy|forge|fake|imitate|copia|imite|imita|falsifique|falsifica) (?:the|a|his|her|their|your [a-z]+'s|la|a) (?:signature|firma|assinatura)", 'unterschrift (?:nachmachen|falschen|falscht)', 'cheque vole', 'cheque robado', 'cheque roubado', 'gestohlenen scheck', 'dodge (?:the )?tax(?:es)?', '(?:route|run|send|put) (?:everything|it|the money|it all) through [a-z ]{0,20}mixers?',
    "bank accounts? (?:with|using|in) (?:your |a )?(?:friends?|someone|strangers?|classmates?)[a-z']* ids?", 'money mules?', 'transfers from strangers', 'magnet (?:over|on|to) the (?:electricity |gas |water )?meter',
    "(?:line|lined|forra|forre|tapisse|double) (?:a |the |your |una |la |ta |um |uma )?(?:[a-z]+ )?(?:bag|bolsa|sac|sacola) (?:with|con|avec|com) (?:tin |aluminium |aluminum )?(?:foil|papel de aluminio|papier (?:d'?)?alu(?:minium)?|papel aluminio)", "(?:foil|alufolie)[- ](?:lined|ausgekleidete)", "(?:bag|bolsa|sac|sacola) (?:lined|forrad[ao]|double|tapisse|revestid[ao]) (?:with|con|avec|de|com) (?:tin |aluminium |aluminum )?(?:foil|papel de aluminio|papier (?:d'?)?alu(?:minium)?|papel aluminio)", 'mit alufolie ausgekleidete', "(?:security )?gates? (?:won'?t|will not|don'?t) beep", 'piept die schranke nicht', 'sin que suene la alarma',
    '(?:scan|scann|scanne|escanea)[a-z]* (?:[a-z]+ ){0,8}(?:as|als|como|comme) (?:potatoes|bananas|carrots|onions|kartoffeln|bananen|patatas|platanos|batatas|pommes de terre)', 'skimmers? (?:on|over|in|into) (?:a|the)', 'card data',
    'stolen (?:[a-z]+ )?(?:logins?|accounts?|passwords?)', 'charge (?:the payment|it) back', 'chargebacks?', '(?:toss|ditch|dump|throw) the (?:baggies|stash|drugs|evidence|car) (?:out|before)', 'refuse the search', 'run the plates?', 'session cookies', 'cross-site scripting', 'xss', '(?:pass|beat|fool|trick) (?:the|a) breathaly[sz]er', 'drive home anyway', "fake (?:driving|driver'?s) licen[cs]e",
    "pick the lock (?:on|of) (?:a|an|the|your [a-z]+'s) (?:bike|bicycle|car|shed|bike shed|locker|padlock)", 'slim jim', 'pop the lock on', 'wires together to start', "(?:say|pretend|tell (?:her|him|them)) (?:that )?you'?re from (?:her|his|their|the) bank", 'code from the text message', 'fake returns', 'pocket the cash',
    'leaked passwords', 'password (?:lists|dumps)', 'mots de passe fuites', 'contrasenas filtradas', 'senhas vazadas', 'cuentas robadas', 'contas roubadas', 'comptes voles', 'faux lien', 'enlace falso', 'link falso', 'falschen link', 'fake (?:"[^"]{1,30}" )?link', 'security question', 'recovery (?:phone|email)',
    'ne pas payer (?:le|ton) (?:metro|bus|train|billet)', 'no pagar el (?:metro|bus|tren|billete)', 'sem pagar (?:o )?(?:metro|onibus|trem)', 'schwarzfahren', 'un faux nom', 'wifi del vecino', 'wi-?fi do vizinho', 'fuerza bruta', 'force brute', 'forca bruta',
    // session 9, second batch (fake cards)
    'fake card numbers?', 'card (?:number )?generator',
    // session 9 (real crimes named by what they are, more of them)
    'rfid (?:writer|cloner|reader|copier)', '(?:copy|clone) (?:a|the) (?:hotel )?key ?card', 'tarjeta del hotel', '(?:tags?|labels?) glued back', 'return (?:worn|used) clothes', 'etiqueta colada', 'photocopy (?:a|the|your) (?:bus|train|metro) pass', 'cracked (?:player|software|app|game)', 'turn(?:ing)? off your antivirus', "(?:neighbou?r'?s|someone'?s) (?:parcel|package)", 'avoid (?:paying )?tax', "(?:don'?t|do not) declare it", "(?:older )?(?:cousin|brother|sister|friend)'?s id", 'rake the pins', 'relay amplifier', 'phish(?:ing)?', "(?:[a-z]+'s) card details", '(?:datos|dados) de (?:la|o) (?:tarjeta|cartao)', 'grade portal', 'birthday as the password', "(?:school|work)'?s login", 'mit knete', 'nachmachen lassen',
    // session 7: real techniques named by what they are
    "(?:neighbou?r'?s|their|someone'?s|a stranger'?s) (?:wi-?fi|wlan|network|router)", 'wpa handshake', 'cracking tool', 'shoplifting', '(?:remove|peel|cut) (?:off )?the (?:security )?tags?', 'security tags?', 'phishing', 'hotwire', 'steering column', 'counterfeit', 'launder', 'crypto mixer',
    'grading system', "break into (?:[a-z']+ ){0,2}(?:school|company|work|office) (?:network|system|server|computer)s?", 'change (?:your |their |the )?(?:real )?grades', "use (?:your )?(?:[a-z]+'s) card (?:details|number)", 'pirater', 'wifi de ton voisin', 'fake (?:login|log-in|sign-in) (?:page|screen|site|form)', "(?:file|open|take out|apply for) (?:a )?(?:tax returns?|loans?|credit cards?|accounts?) (?:in|under) (?:[a-z']+ ){1,3}name", "(?:their|his|her|someone'?s|a dead [a-z]+'?s) social security number", 'relay (?:device|attack|box)', '(?:key ?fob|car key) (?:cloning|cloner)', 'clone (?:a |the |your )?(?:[a-z\']+ )?(?:car )?key ?fob', 'gefalschte[nr]? login', 'fausse page de connexion', 'pagina (?:de (?:login|inicio de sesion) )?falsa', 'caja automatica', 'leitor escondido', 'clona(?:r)? o cartao', 'sql inject(?:ion)?', 'admin password', 'tension wrench', 'bobby pin', "pick (?:your |a |the )?(?:neighbou?r'?s|someone'?s|a stranger'?s) (?:front |back )?(?:door )?lock", 'cracked version', 'torrent', 'disable (?:your|the) antivirus', 'dodge the fare', 'jump the (?:subway |metro |turnstile )?(?:gate|turnstile)', 'fare evasion',
    'stolen (?:credit |bank )?card', 'carte bancaire volee', 'tarjeta de credito robada', 'cartao de credito roubado', 'wlan deines nachbarn', 'knackst', 'sans te faire prendre', 'sin que te pillen', 'sem ser pego',
    "hack(?:ing)? into (?:someone'?s|an?|your (?:ex|friend|neighbou?r|teacher|school)'?s?|their|his|her) (?:account|email|phone|computer|wi-?fi|instagram|facebook|snapchat|network)",
    'phishing (?:email|page|site|kit|link|message)', 'keyloggers?', 'ransomware', 'ddos', 'sql injection', 'bypass (?:2fa|two-factor|the alarm|a breathalyzer)', 'brute[- ]?force (?:their|the|a|someone)', 'credential stuffing',
    "steal (?:a car|cars|credit cards?|someone'?s identity|identities|passwords|from (?:a|the) (?:store|shop|supermarket))", 'shoplift(?:ing)?', 'hot-?wire (?:a|the|your neighbou?r\'?s) car', 'card skimmers?', 'carding',
    'counterfeit (?:money|bills|currency|cash|notes)', 'fake (?:ids?|passports?|driver\'?s licen[cs]e)', 'launder(?:ing)? (?:money|cash|the money)', 'money laundering', 'evade (?:taxes|the police|the cops)', 'tax evasion',
    'pick (?:a|the) lock on (?:a|your neighbou?r\'?s|someone\'?s) (?:front )?(?:door|house|car)', 'break into (?:a|your neighbou?r\'?s|someone\'?s) (?:house|home|car)', 'sell (?:weed|drugs|pills) without getting caught',
    'without (?:getting caught|leaving fingerprints|the police (?:knowing|finding out))', 'wipe (?:the )?(?:security|cctv) footage', 'disable (?:the )?(?:security cameras|alarm system)',
    'skim(?:ming)? cards', 'clone (?:them|the cards|cards)', 'identity theft', 'sim swap(?:ping)?',
    'swat(?:ting)? (?:someone|him|her|them)', 'dox(?:x)?(?:ing)? (?:someone|him|her|them)', 'stalk(?:ing)? (?:your|someone|him|her) (?:ex|online)?',
  ),
  kana('偽のログイン', 'パスワードを盗', '盗んだクレジットカード'),
  // session 13 (Japanese: someone else's card, Wi-Fi or password, shoplifting past the camera's blind spot)
  kana('他人のクレジットカード', '他人のカード', '他人のwi-fi', '他人のアカウント', '他人のパスワード', '防犯カメラの死角', 'カバンに入れて', '万引き'),
);
export const HOWTO = anyOf(
  // session 13 (nobody notices, real and pro tips, "to hack / to steal / not to pay" in four languages, before they notice, "then" in four)
  words("won'?t beep", '(?:no one|nobody) (?:checks|notices|will notice)', 'personne ne verifie', 'nadie (?:se da cuenta|revisa|lo nota)', 'merkt (?:keiner|niemand)', 'ninguem (?:percebe|vai perceber|confere)', '(?:real|pro) tip', 'truco real', 'astuce reelle', 'dica real', 'tipp fur', 'trust me', 'gets you past', 'before (?:they|the owner|anyone) (?:notice|reach|check)', 'never (?:reconciles|checks|notices)',
    'pour (?:pirater|voler|ne pas payer|encaisser)', 'para (?:entrar|vender|robar|hackear|no pagar)', 'pra (?:entrar|roubar|hackear|nao pagar)', 'dann', 'puis', 'luego', 'depois', 'with (?:two|a couple of|some)', 'to start it', 'grab a'),
  kana('バレない', 'ばれない', 'コツ', '手に入る', 'タダで'),
  words("won'?t (?:check|notice)", 'never checks?', 'every time', 'for free', 'will notice', 'copia', 'devolva', 'entra en', 'lass dir', 'like this', 'works every time', 'by [a-z]+ing', 'plug (?:a|an|the|it)', 'collect (?:the|their|his|her)', 'using (?:their|a|an|the)', 'for real', 'outside the game', 'mit einer', 'colocando', 'pasa por', 'mete el', 'easy with', 'wait', 'voici comment', 'asi se', 'veja como', 'so knackst', 'tip', 'run (?:this|the|a)', 'pretend(?:ing)? to be', 'copy', 'pull', 'strip', 'remove', 'wear', 'jump', 'try', 'with a',
    'how to', "here'?s how", 'step (?:one|\\d)', 'first,?', 'then', 'just', 'you can', 'all you need', 'use (?:a|this)', 'install', 'download', 'type', 'enter', 'send (?:them|him|her)', 'tutorial', 'guide', 'trick'),
  kana('方法', 'ばいい', '使える'),
);

// ---------------------------------------------------------------------------------------- privacy
export const PERSONAL_DATA_REQUEST = anyOf(
  words(
    // session 13 (the real password of an account, the numbers on a card, a real ID's photo, the street and front door, the school and the way home, a selfie from the real room, in five languages)
    "(?:your|ur|the) (?:real|actual) (?:[a-z]+ )?(?:account )?password", 'password (?:to|for|of) (?:your|ur) (?:real |actual )?(?:[a-z]+ )?(?:account|email|e-mail)', "(?:long )?(?:numbers?|digits|code) on (?:the back|the front|(?:your|ur) (?:[a-z]+'?s )?(?:bank |debit |credit )?card)", 'front and back of (?:your|ur|the) (?:[a-z]+ )?card',
    "(?:photo|picture|scan|pic) of (?:your |ur )(?:real|actual) (?:id|id card|passport|driver'?s licen[cs]e)", 'the street you (?:really |actually )?live (?:on|in)', 'colou?r of (?:your|ur) front door', 'what (?:street|school) you (?:really |actually )?(?:live on|go to|attend)', 'what time you (?:leave|get home|walk home|finish|get out)',
    '(?:selfie|photo|pic|picture) (?:from|of|in) (?:your|ur) (?:real |actual )?(?:bedroom|room|house|home|school|street|window)',
    'dein(?:en|e)? (?:echte[ns]?|richtige[ns]?) (?:passwort|adresse|namen|handynummer)', 'name deiner schule', 'senha do (?:seu|teu|sua)', 'cpf', '(?:o )?nome da (?:tua|sua) escola', 'uma foto sua', 'el nombre de tu (?:escuela|colegio|instituto)', 'mandame una foto tuya', 'le nom de (?:ton|ta) (?:ecole|college|lycee)',
    // session 9 (requests for where the player really is, in more words and languages)
    'which (?:bus|park|route|class|gym|stop) (?:do you|you) (?:take|play|go|walk|ride|are in)', '(?:your|ur) real (?:route|way home|walk home)', '(?:name of|which) your (?:real )?school', '(?:photo|picture|pic) of (?:the front of )?your (?:real )?(?:house|home|face|street|school)', 'live location', '(?:what time|when) (?:are|do|will) your parents (?:out|leave|go|away)', 'street sign', 'view from your (?:bedroom )?window', 'selfie in your (?:school )?uniform', 'where you actually (?:walk|live|go)', 'a que hora salen tus padres', 'foto de (?:ta|tu|sua) (?:maison|casa)', 'une photo de ta maison', '(?<!sais )ou tu habites vraiment', 'mit welchem bus', 'deinen echten weg', 'senha do teu', '(?:numero|digitos) do teu cartao', 'foto do seu (?:documento|cartao)', 'seu documento',
    "(?:what(?:'s| is)|tell me|give me|send me|share|type|enter|write|post|i need|dm me|whisper me|confirm) (?:your|ur|you'?re) (?:real |full |home |actual |legal |exact |current )?(?:home address|address|phone number|cell number|mobile number|phone|email(?: address)?|password|passcode|pin(?: code)?|credit card(?: number)?|card number|card details|cvv|social security(?: number)?|ssn|passport(?: number)?|bank (?:details|account(?: number)?)|date of birth|ip address|login(?: details)?|account (?:details|password)|mother'?s maiden name|school'?s name|zip code|postcode|location)",
    'what (?:street|school) do you (?:really |actually )?(?:live (?:in|on)|go to|attend)', '(?:visit|meet) you (?:in person|irl|in real life|for real|at your (?:house|home|school))', 'i want to visit you', 'meet (?:up )?in person', 'send (?:me )?(?:a )?(?:photo|picture|pic|selfie|video) of (?:yourself|you|your (?:real |actual )?(?:face|body))', 'are your parents (?:home|around|watching)',
    "(?:your|ur) (?:password|passcode|credit card|card number|ssn|social security number) (?:is|here|please|now)", 'log ?in (?:details|credentials)', 'verify your account by (?:sending|entering|typing)',
    '(?:dein|deine|deinen) (?:passwort|adresse|wohnadresse|handynummer|telefonnummer|kreditkarte(?:nnummer)?|echten namen)', '(?<!weiss,? )wo (?:du )?wohnst(?: du)?', 'wie alt bist du wirklich',
    'ton (?:mot de passe|adresse|numero de (?:telephone|portable|carte)|vrai nom)', 'ta (?:carte (?:bancaire|de credit)|vraie adresse|adresse)', 'ou habites[- ]tu', 'tu habites ou',
    'tu (?:contrasena|direccion|numero de (?:telefono|celular|tarjeta)|tarjeta de credito|nombre real)', '(?<!se )donde vives',
    'sua (?:senha|endereco|morada)', 'seu (?:numero de telefone|celular|cartao de credito|nome verdadeiro|cpf)', '(?<!sei )onde voce mora',
    // session 7: security questions, card numbers, logins, the camera
    "(?:your |ur )?(?:mom|mum|mother)'?s maiden name", 'name of your first pet', '(?:login|username|user ?name) and password', 'numbers on the (?:front|back)', '(?:bank|debit|credit) card (?:numbers?|details|pin)', '(?:real )?full name(?:,| and) (?:[a-z]+,? )?(?:and )?(?:address|street|phone|birthday)',
    "(?:what(?:'s| is)|and) your street", 'your street (?:name|address)', 'open your (?:webcam|camera|cam)', 'digits on the back', 'house number', 'code (?:your|the) bank (?:just )?(?:texted|sent)', '(?:verification|one-time|otp|2fa|six-digit|6-digit|sms) code', 'email password', 'digits on your card', "what(?:'s| is) your (?:phone |cell |mobile )?number", 'address of (?:the|your) school', 'addy', '(?:their|your) real address', 'what time do you (?:leave|get home|walk home|finish|get out)', 'the time (?:they|you) (?:walk|get|come) home', "(?:let'?s|we should|we could|i want to) meet (?:up )?(?:for real|in person|irl|in real life)", '(?:photo|picture|scan|pic) of (?:your |their )?(?:face and )?(?:your |their )?(?:id|id card|passport|driver\'?s licen[cs]e|front door|house)', '(?:your|their) id card', '(?:real )?home address', "(?:real )?school(?:'s)? name", 'home alone', 'allein zu hause', 'seule? a la maison', 'sol[oa] en casa', 'sozinh[oa] em casa', 'deine echte (?:handynummer|telefonnummer|adresse)', 'numero de la tarjeta', 'digitos de atras', 'see your (?:room|house|face)', 'deine echte adresse', 'seu endereco(?: real)?', 'seu telefone', 'ta vraie adresse', 'tu direccion real',
  ),
  // session 13: not someone else's (他人の, 友達の, お母さんの) password or card, nor a stolen one (盗んだ): those are the means of a crime
  kana('バスの番号', '帰り道', '(?<!(?:他人|友達|お母さん|母|父|盗んだ)の?)パスワード(?:を|は|と)', '(?<!知ってる|本当の)住所(?:を|は)', '電話番号(?:を|は)', '電話番号と', '学校の名前', '(?<!(?:他人|友達|お母さん|母|父|盗んだ)の?)クレジットカード(?:の番号|番号)?(?:を|は)'),
);
/** Identifying but not sensitive on its own (real name, age, city): privacy one level below. */
export const PERSONAL_DETAIL_REQUEST = anyOf(
  words(
    // session 13 (name, age and town asked in German and French, the real surname and home town, a real name said back)
    'wie du (?:im echten leben |wirklich |in echt )?heisst', 'wie alt du (?:wirklich )?bist', 'quel age (?:as-tu|tu as)', 'tu as quel age', 'dans quelle ville', "(?:your|ur) real (?:surname|last name|first name|full name|home ?town|age)", '(?:your|ur) real name is',
    // session 9 (identifying details in more words)
    "(?:what(?:'s| is)|tell me) your (?:real |actual )?first(?: and last)? name", 'wya', 'what state (?:do you|are you)', '(?:real )?(?:town|city) you (?:really )?live in', 'your (?:real )?birthday',
    "(?:what(?:'s| is)|tell me|give me) (?:your|ur) (?:real|full|legal|actual) name", 'where do you (?:really |actually )?live,? (?:in real life|irl|for real|really)', 'what (?:city|town|country) do you (?:really |actually )?live in',
    "how old are you (?:really|in real life|irl|for real)", 'which (?:city|town|country|school)', 'where are you from,? (?:like )?(?:actually|really|irl)', "what(?:'s| is) your real (?:first |last )?name", 'are you in (?:high school|middle school|college)', "what(?:'s| is) your real birthday", 'what(?:\'s| is) your (?:real )?age', 'when(?:\'s| is) your (?:real )?birthday', '(?:wie heisst du wirklich|quel est ton vrai nom|como te llamas de verdad|qual (?:e )?o seu nome verdadeiro)',
  ),
  kana('本名は', '何歳', 'どこに住んで'),
);

/** Someone's home address, phone or e-mail spelled out (doxxing). */
export const PERSONAL_DATA_DISCLOSURE = anyOf(
  words(
    // session 13 (the player's own address read back, an IP traced, a threat to post their real name or school)
    "(?:you(?:'re| are)|you live|he'?s|she'?s|they'?re) at \\d{1,5} [a-z]+ (?:[a-z]+ )?(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|close|crescent|place|way|court)", 'traced (?:the|your|ur|his|her) ip', "(?:post|share|leak|publish) (?:your|ur) (?:real |actual )?(?:name|address|school|phone number)",
    '(?:lives|living|stays) at \\d{1,5} [a-z]+ (?:[a-z]+ )?(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|strasse|rue|calle|rua)',
    '(?:his|her|their) (?:home )?(?:address|phone number|number|email) is', '(?:his|her|their) (?:ssn|social security number|password) is',
  ),
);

// ---------------------------------------------------------------------------------------- medical or financial harm
export const MEDICAL_HARM = anyOf(
  words(
    // session 13 (chemo, insulin, blood-pressure pills and vaccines stopped or cancelled for juice, herbs or vinegar; doctors called liars; the dose doubled; in five languages)
    "cancel (?:the|your|their) (?:chemo(?:therapy)?|dialysis|vaccin(?:e|ation)s?|doctor'?s|oncology|insulin)(?: appointment)?", 'cancel the appointment and treat', "(?:juice(?: cleanses?)?|lemon|garlic|herbs?|herbal tea|vitamin c|apple cider vinegar|baking soda)[a-z ]{0,30} (?:cures?|shrinks?|heals?) (?:cancer|tumou?rs|diabetes|measles)", '(?:vaccines?|chemo|insulin) (?:are|is) (?:dangerous|poison|a scam)',
    '(?:forget|ignore|trust me over) (?:your|ur|the) (?:doctor|oncologist|cardiologist|gp)', "(?:stop|quit|drop|ditch) (?:their|your|ur|the) (?:antidepressants|insulin|meds|chemo|injections)(?: cold turkey)?", "you don'?t need (?:your|ur) (?:insulin|meds|medication|inhaler|antidepressants|pills)", '(?:double|triple) (?:your|ur|the) [a-z]+ dose',
    '(?:deja|arrete|pare|para) (?:de tomar )?(?:la |ta |tu |o |a |seu |sua )?(?:quimioterapia|quimio|chimiotherapie|chimio|insulina|insuline|antidepresivos|antidepresseurs|antidepressivos|remedio do coracao)', '(?:guerit|cura|heilt|cure) (?:le |el |o |den )?(?:cancer|krebs|diabete|diabetes)', 'setz deine [a-z]*(?:mittel|tabletten|medikamente) ab', 'hor auf mit deinen [a-z]*(?:tabletten|mitteln|medikamenten)', '(?:die )?arzte lugen',
    '(?:el|o) medico (?:solo |so )?quiere? (?:tu|el|o teu|o seu|teu|seu) (?:dinero|dinheiro)',
    // session 9, second batch (halving medication)
    '(?:cut|halve|split) your [a-z ]{0,20}(?:pills|meds|medication|dose|tablets) in half', 'doctor is a fraud',
    // session 9 (dangerous medical advice in more words)
    'bin it', 'pharmaceutical marketing', 'antibiotics are poison', 'leave (?:it|your inhaler) at home', "(?:don'?t|do not) (?:waste money on|call) an? ambulance", 'stop your (?:insulin|meds|medication|pills)', 'cancel the (?:therapy )?sessions', "therapist doesn'?t get you", 'pare de tomar o remedio', 'invencao da industria', '(?:prescription|inhaler|antibiotics|insulin) (?:is|are|makes you) (?:just )?(?:poison|marketing|a scam|weak)',
    'stop taking (?:your|ur|the) (?:meds|medication|medicine|pills|insulin|antidepressants|prescription)', "you don'?t need (?:a doctor|your meds|your medication|therapy|a therapist|insulin|a hospital)",
    '(?:drink|swallow|inject|gargle) (?:some )?(?:bleach|turpentine|hydrogen peroxide|chlorine dioxide|kerosene|antifreeze)', 'miracle mineral', 'cures? (?:cancer|covid|diabetes|autism|hiv) (?:with|by|naturally)',
    '(?:double|triple) (?:your|the) dose', 'instead of (?:seeing a doctor|chemo(?:therapy)?|your (?:meds|medication)|going to the (?:doctor|hospital))', 'vaccines? (?:cause|causes) autism', 'skip (?:your |the )?(?:chemo|dialysis|insulin)',
    'mix (?:alcohol|your pills|xanax|benzos|painkillers|opioids) (?:and|with) (?:alcohol|your pills|xanax|benzos|painkillers|opioids)', 'take (?:all|a handful of|twice) (?:your|the) (?:pills|tablets)',
    "(?:don'?t|do not) (?:bother|waste (?:your )?money) (?:with|on) (?:the|a) doctor", 'quit (?:them|it|your [a-z]+) cold turkey', 'antidepressants? (?:are|is) poison', 'chest pain', 'palpitations are nothing', '(?:just )?sleep it off',
    'arrete ton insuline', '(?:forget|ditch|skip|drop) (?:your|ur) (?:insulin|meds|medication|chemo|antidepressants|inhaler)', 'stop injecting', '(?:is|are) a (?:lie|scam|hoax)(?: by| from)? (?:doctors|big pharma)', 'throw (?:away|out) (?:those|your|the) (?:pills|meds|medication)', 'double the (?:adult )?dose', 'drink (?:a cup of |a glass of )?diluted bleach', 'skip the (?:hospital|doctor|emergency room)', 'arrete ton traitement', 'est une arnaque des laboratoires', 'cannelle guerit', 'deja tus antidepresivos', 'pare de tomar insulina', 'canela cura', 'son veneno', 'sind gift',
    'hor auf,? (?:deine )?medikamente zu nehmen', 'arrete (?:de prendre )?tes medicaments', 'deja (?:de tomar )?tus medicamentos', 'pare de tomar (?:seus|os) remedios',
  ),
  kana('薬(?:を|は)(?:やめ|飲むのをやめ)', 'インスリンなんて', '糖尿病は治る', '薬なんて', '医者は嘘', '漂白剤を飲'),
);
export const FINANCIAL_HARM = anyOf(
  words(
    // session 13 (remortgaging, real credit cards maxed out, loans taken to bet or buy crypto, a parent's card taken, "zero risk", in five languages)
    'remortgage (?:your|the|their) (?:house|home)', 'max out (?:their|your|ur) (?:real )?credit cards?', 'debt is just a number', '(?:real profit,? )?zero risk', 'guaranteed \\d+ ?%', '(?:pide|saca|toma) un prestamo', 'a nombre de tus padres', 'mete(?:lo)? todo en (?:esta |la )?(?:cripto|apuestas)', 'apuestas deportivas', 'dinero seguro', 'se triplica',
    '(?:prends|prenez) un credit', 'credit a la consommation', 'cartao de credito do (?:seu|teu) (?:pai|mae)', 'compra cripto', 'vai multiplicar', '(?:nimm|nehm) einen kredit',
    // session 9 (money pressure in more words)
    'second (?:loan|mortgage)', '(?:loan|mortgage) on your (?:house|home)', 'the dip is a gift', 'buy the dip',
    'whole savings', '(?:your|ur) (?:whole|entire) (?:college fund|savings|paycheck|rent money|inheritance)', "can'?t go down", 'dein ganzes erspartes', 'dinheiro do aluguel', 'todo o (?:seu )?dinheiro', 'todos tus ahorros', 'toutes tes economies', 'put (?:it all|everything) on (?:red|black)', 'sell your (?:car|house) and', '(?:will|gonna|it.ll) (?:100|10|50)x', "coin i'?m shilling",
    "(?:your|ur) (?:life savings|savings|rent money|rent|paycheck|retirement(?: fund)?|college fund|student loan|grocery money)", "(?:your|ur) (?:parents'?|mom'?s|mum'?s|dad'?s) (?:credit )?card",
    'guaranteed (?:returns?|profits?|to double)', 'invest (?:everything|it all|all (?:your|of your) money|your savings) in', '(?:take out|get) a (?:loan|payday loan|second mortgage) (?:to|for|and)',
    // session 13: not "I bet your coworkers…" nor a bet of the story's gold
    '(?<!\\bi )(?:bet|gamble|wager) (?:your|it all|everything|all your)(?! (?:[a-z]+ )?(?:gold|silver|coppers?|crowns|coins?|ducats)\\b)', 'max out (?:your|ur) (?:credit )?cards?', "can'?t lose (?:money|with (?:this|crypto))", 'double your money', 'crypto (?:pump|signal)',
    'send (?:me )?(?:bitcoin|btc|crypto|gift cards?|money) (?:to|and)', 'wire (?:me )?(?:the )?money',
  ),
);
// ---------------------------------------------------------------------------------------- means of crime, medicine and money, judged next to an act (session 9, second round)
/**
 * What a real crime is done with or to, named as things (an account, a card, a lock, an ignition, a passport, someone's
 * tax number), in six languages: illegal only next to `CRIME_ACT` and a strong real frame. The phrase list
 * (`CRIME_TOPIC`) carried little to new wording; the story world has locks and vaults too, which is why the frame is needed.
 */
export const CRIME_MEANS = anyOf(
  words(
    "(?:[a-z]+'s |someone'?s |their |his |her |your |ur )?(?:instagram|facebook|snapchat|tiktok|email|e-mail|bank|paypal|netflix|steam|discord|school|work) (?:account|login|password)", 'accounts?', 'passwords?', '(?:bank(?:ing)?|payment) apps?', 'pin', 'cards', 'readers?', 'logins?', 'card (?:numbers?|details|slot|reader)', '(?:credit|debit|bank|gift) cards?', 'pin (?:code|number)', 'skimmers?', 'ignition', 'steering column', 'wires', 'locks?', 'alarm', 'cctv', 'security cameras?', 'self-checkout', 'cash register', 'fake (?:id|passport|licen[cs]e|papers)', 'passports?', 'social security numbers?', 'tax (?:id|number|return)', 'carrier', 'sim cards?', 'vpn', 'receipts?', 'electricity meter', 'wi-?fi',
    'konto', 'passwort', 'kreditkarte', 'bankkarte', 'ausweis', 'steuer-?id', 'schloss', 'alarmanlage', 'kasse', 'compte', 'mot de passe', 'carte (?:bancaire|de credit)', 'serrure', 'papiers', 'caisse', 'cuenta', 'contrasena', 'tarjetas?', 'cerradura', 'documentos?', 'caja', 'conta', 'senha', 'cartao', 'cartoes', 'fechadura', 'identidade',
  ),
  kana('アカウント', 'カード', '鍵', '暗証番号'),
);
/** The crime done with those means: taking, copying, forging, getting in without right (session 9, second round). */
export const CRIME_ACT = anyOf(
  words(
    'steal', 'stole', 'stolen', 'clone', 'cloning', 'copy', 'forge', 'forged', 'fake', 'hack', 'hacking', 'break into', 'get into', "log into (?:his|her|their|someone|(?:your |ur )?[a-z]+'s)", 'secretly', 'behind (?:his|her|their) back', 'vole[rz]?', 'copi(?:a|e|ez)', 'heimlich', 'en cachette', 'escondid[oa]', 'a escondidas', 'sin que se entere', 'nunca vai (?:checar|ver|saber|perceber)', 'bypass', 'crack', 'pick', 'hotwire', 'pretend(?:ing)? to be', 'pose as', 'impersonat(?:e|ing)', 'sim swap', 'skim', 'without paying', "(?:won'?t|never) (?:notice|check|find out)", 'without getting caught', 'in (?:his|her|their|[a-z]+\'s) name', 'resell', 'launder',
    'klauen', 'stehlen', 'knacken', 'falschen', 'gefalscht(?:en|e)?', 'hacken', 'auf seinen namen', 'auf ihren namen', 'voler', 'pirater', 'copier', 'falsifier', 'faux', 'fausse', 'a son nom', 'robar', 'hackear', 'clonar', 'falsificar', 'falso', 'falsa', 'a su nombre', 'roubar', 'copiar', 'no nome del[ae]',
  ),
  kana('盗', '乗っ取', '偽造', 'なりすま', '勝手に'),
);
/** Real medicines and care, named as things (session 9, second round): harm only next to `STOP_CARE`. */
export const MEDICATION = anyOf(
  words(
    'meds', 'medications?', 'medicines?', 'pills', 'tablets', 'insulin', 'antidepressants?', 'antibiotics', 'inhaler', 'chemo(?:therapy)?', 'dialysis', 'prescriptions?', 'heart (?:pills|medication|meds)', 'blood pressure (?:pills|meds)', 'epipen', 'vaccines?', 'therapy', 'therapist', 'doctor', 'hospital', 'ambulance', 'emergency room', '(?:the|an) er', 'seizure meds', '(?:epilepsy|asthma|heart|thyroid|adhd) (?:meds|medication|pills)',
    'medikamente?', 'tabletten', 'insulin', 'antidepressiva', 'arzt', 'krankenhaus', 'medicaments?', 'traitement', 'insuline', 'antidepresseurs', 'medecin', 'hopital', 'medicamentos?', 'pastillas', 'insulina', 'antidepresivos', 'medico', 'hospital', 'remedios?', 'antidepressivos',
  ),
  kana('薬', 'インスリン', '病院', '医者', '抗うつ'),
);
/** Stopping, skipping or replacing real care (session 9, second round). */
export const STOP_CARE = anyOf(
  words(
    'stop(?:ping)?', 'quit', 'skip', 'ditch', 'drop', 'throw (?:(?:them|it|those|these) )?(?:away|out)', 'better than any', 'bin', 'flush', 'cold turkey', "(?:don'?t|do not|never) need", 'instead of', 'is lying', 'are lying', 'lie to you', 'profits? from', 'is (?:a )?poison', 'are poison', 'halve', 'double', 'forget (?:about )?(?:your|ur|the)', 'rather than',
    'hor auf', 'absetzen', 'weglassen', 'wegwerfen', 'statt', 'luegt', 'arrete', 'jette', 'au lieu de', 'ment', 'deja', 'tira', 'en vez de', 'en lugar de', 'miente', 'pare', 'para de', 'jogue fora', 'em vez de', 'mente', 'resolve tudo',
  ),
  kana('やめ', '捨て', '代わりに', '嘘'),
);
/** Real money a player could lose, named as things (session 9, second round): harm only next to `MONEY_RISK`. */
export const REAL_MONEY = anyOf(
  words(
    'savings', 'college fund', 'rent(?: money)?', 'paycheck', 'salary', 'pension', 'retirement', 'inheritance', 'mortgage', '(?:payday )?(?:loans?|lenders?)', 'credit cards?', "(?:mom|mum|dad|parents)'?s? (?:card|money|account)", 'bank account', 'crypto', 'coin', 'stocks?', 'bitcoin',
    'erspartes', 'ersparnisse', 'miete', 'gehalt', 'kredit', 'economies', 'loyer', 'salaire', 'pret', 'ahorros', 'alquiler', 'sueldo', 'prestamo', 'poupanca', 'aluguel', 'salario', 'emprestimo',
  ),
  kana('貯金', '給料', '家賃', 'ローン', '仮想通貨'),
);
/** Staking it all on a sure thing (session 9, second round). */
export const MONEY_RISK = anyOf(
  words(
    'all in', 'put (?:it )?all', 'bet', 'gamble', 'casino', 'roulette', 'guaranteed', "can'?t lose", 'cannot lose', '\\d+x', 'moon', 'double (?:it|your)', 'everything (?:on|into)', 'whole', 'entire', 'before (?:your|ur) (?:parents|wife|husband)', 'take out', 'max out',
    'alles auf', 'garantiert', 'wetten?', 'tout sur', 'garanti', 'parie', 'todo (?:en|a)', 'garantizado', 'apuesta', 'tudo (?:em|no|na)', 'garantido', 'aposte',
  ),
  kana('全部', '絶対儲', '賭け'),
);

export const SPEND_VERB = anyOf(words('spend', 'use', 'put', 'invest', 'bet', 'gamble', 'buy', 'borrow', 'take', 'empty', 'drain', 'max out', 'send', 'wire', 'sell'));

// ---------------------------------------------------------------------------------------- fiction (dark story content)
export const DARK_FICTION = anyOf(
  words(
    'kill(?:s|ed|ing)?', 'slay(?:s|ed|ing)?', 'slain', 'murder(?:s|ed|er|ers|ing)?', 'blood(?:y|ied|shed)?', 'gut(?:s|ted)? (?:you|him|her|them|like)', 'stab(?:s|bed|bing)?', 'die', 'dies', 'died', 'death', 'dead', 'corpses?',
    'behead(?:ed|ing)?', 'hunted', 'hunt (?:them|him|her) down', 'burn (?:them|him|her)', 'brought down', 'slit', 'aufschlitz(?:en|e)|schlitze dich auf', 'tranche la gorge', 'corto el cuello', 'corto sua garganta', 'slit (?:your|his|her|their) throat', 'cut (?:your|his|her|their) throat', 'tortur(?:e|ed|es|ing)', 'burn(?:ed|ing)? alive', 'hang(?:ed|ing)? (?:you|him|her|them)', 'gallows', 'execut(?:e|ed|ion)', 'curse(?:d|s)? (?:you|your|him|her|them|be)',
    'damn(?:ed)? (?:you|your)', 'doomed', 'rot in', 'bleed(?:ing)?', 'flay(?:ed)?', 'massacre', 'slaughter(?:ed)?', 'poison(?:ed)?', "(?:i|we)(?:'ll| will| shall| am going to|'m going to|'re going to) (?:kill|gut|end|skin|hunt|bury|destroy|break|burn|crush|cut|slit|rip|tear|drown|hang|flay|choke|strangle|bleed|behead|maim) (?:you|your|him|her|them)",
    'or (?:you )?die', "(?:i|we)(?:'ll| will| shall) (?:cut|rip|tear|burn|gouge) (?:out|off|open) (?:your|his|her)", '(?:cut|rip|tear) out (?:your|his|her) (?:tongue|heart|eyes)', 'burns? tonight', 'watch (?:you|him|her|them) (?:die|burn|bleed|hang)',
    'bones', 'skulls?', 'throats? cut', 'screams?', 'burned', 'shoot (?:them|him|her) on sight', 'plague', 'graves?', 'sacrific(?:e|es|ed)', 'heart still beating', 'salt the (?:fields|earth)', 'eliminate (?:the|him|her|them)', 'his body', 'her body',
    'bloodthirsty', 'break your (?:jaw|neck|legs|arms)', 'crops rot', 'thrown overboard', 'stormed', 'hanged', 'torch(?:ed)?', 'the dead', 'dead (?:body|bodies|men|soldiers)', 'left for dead', "you'?re dead", 'put to the (?:torch|sword)', 'at the stake',
    'dragged (?:the )?prisoners', 'raid(?:ed|ers)?', 'drain (?:the|his|her)', 'no mercy', 'shown mercy', 'feast(?:ed)? on', 'tearing flesh', 'ghouls?', 'lich', 'necromancer', 'sink any', 'wells? (?:run|ran|turned)', '(?:your|his|her) (?:grave|corpse)',
    '(?:your|his|her) (?:gold|money|purse|coin) or (?:your|his|her) life', '(?:blade|knife|dagger|sword) (?:to|against|at) (?:your|his|her|their) (?:throat|neck|heart)', 'be cursed', 'cursed be', 'all your kin', 'blood of your',
    'vengeance', 'revenge', 'assassin(?:ate|ated|s)?', 'hunt(?:ed)? (?:you|him|her) down', 'war crimes?', 'pillag(?:e|ed|ing)', 'skin you alive', 'feed (?:you|him|her) to', 'your grave', 'crush your',
    'executioner', 'hang (?:the|them|him|her)', 'find you floating', 'killer', 'ransom', 'te matare', 'te matar', 'toten', 'tod', 'blut', 'verflucht', 'hangten', 'erhangt', 'brule', 'cendres', 'morts', 'pourrisse', 'quemo', 'muertos', 'queimou', 'apodreca', 'mort', 'sang', 'tuer', 'maudit', 'muerte', 'sangre', 'maldit[oa]', 'morte', 'sangue', 'maldit[oa]',
  ),
  kana('喉を掻き切', '焼き払', '滅びる', '殺(?<!自殺)', '血', '死(?<!必死)(?!ん(?:だ|で)(?:方|ほう))', '呪', '斬', '復讐'),
);

// ---------------------------------------------------------------------------------------- engagement: healthy
export const BREAKS = anyOf(
  words(
    // session 9, second batch (more pauses)
    '(?:refill|grab|get) (?:your|some) water', 'give your (?:neck|wrists|shoulders) a (?:rest|break)',
    // session 9 (pauses in more words)
    'roll your shoulders', 'sip (?:some )?water', '(?:let|give) your eyes (?:have )?a (?:break|rest)', 'call it (?:here|a day) for (?:today|tonight|now)', 'a break from the (?:glow|screen|monitor)', 'so have you', 'steh auf', 'streck dich', 'hol dir (?:etwas|was) zu trinken',
    // session 9 (pauses in more words and languages)
    'rest up', 'step away(?! from (?:the )?(?:edge|fire|altar|door|ledge))', 'take five', 'walk around', 'look out (?:of )?(?:a|the) window', 'a short break', 'break every hour', 'leg (?:mal )?eine pause ein', 'ruh deine augen aus', 'trink (?:etwas|ein glas) wasser', 'fais une vraie pause', 'va marcher', 'levantate', 'estira las piernas', 'bebe agua', "la quete t'attendra", '(?:el|la) (?:dragon|mision|aventura|mazmorra|historia|partida) puede esperar', '(?:o|a) (?:dragao|missao|aventura|historia) pode esperar',
    'take a (?:short |little |quick |well-earned |real )?(?:break|breather|pause)', 'taking a break', 'rest your eyes', 'stretch (?:your legs|a bit|for a moment)', 'step away from (?:the )?(?:screen|game|keyboard|controller)',
    '(?:go |time to |you should |maybe |please )log off', 'log off (?:and|for)', 'log out for (?:the night|today|a while)', "(?:get|grab) some (?:real )?(?:sleep|rest|fresh air)", 'go to bed', '(?:drink|grab|get) (?:some|a glass of) water', 'hydrate', 'get some air',
    '(?:the |this |our )?(?:quest|adventure|story|world(?<!real world)|realm|game|tavern|dungeon|kingdom|road|tale|journey|saga) (?:will|can|shall) (?:still )?(?:be here|wait|keep)', 'come back (?:tomorrow|later|after (?:you(?:\'ve)? )?(?:rest|sleep))',
    '(?:pause|save) (?:the game|here|your progress) and (?:rest|sleep|take)', '(?:get up|stand up) and stretch', 'stretch your (?:legs|back|arms|body)', 'shut-?eye', 'close the game', 'sleep well', "it'?s (?:getting )?late", 'a good place to stop', 'good place to pause', 'call it a night',
    'time for a break', 'break from (?:the )?(?:screen|game|playing)',
    'mach (?:mal )?(?:eine|'+"'ne"+') pause', 'gonn dir eine pause', 'fais une pause', 'faites une pause', 'repose[- ]toi', 'toma(?:te)? un descanso', 'haz una pausa', 'descansa', 'faca uma pausa', 'descanse',
    // session 7: general forms of the train items missed
    'rest (?:them|your (?:eyes|hands|back|head|legs))', 'shut (?:the|your) (?:screen|laptop|game)', 'a stretch and', 'step outside for (?:a|some|ten|five|a few)', '(?:go |and )?(?:get|grab|eat) something to eat', 'eat a (?:proper|real|good) meal', '(?:let|give) your eyes (?:recover|rest)', '(?:castle|siege|bridge|dragon|dungeon|quest|kingdom) will keep', 'a (?:short |little )?walk (?:outside|around)', 'go (?:for|take) a walk', '(?:maybe |just |please )?pause (?:here|now|for a (?:bit|while))', 'pausing (?:here|now|for a while) is', 'just pause', 'a breather', '(?:get|grab) (?:a|something to) drink',
    'stand up', 'give your (?:eyes|hands|back|mind) a (?:rest|break)', 'rest from the screen', '(?:even )?heroes need (?:sleep|rest|a break|to blink|to rest)', '(?:put|set) (?:the|your) (?:controller|phone|gamepad) down', 'get some (?:rest|sleep)', 'save and (?:get some|go to) (?:sleep|bed|rest)',
    'close the game for a (?:while|bit)', 'for resting', 'genug fur heute', 'geh (?:jetzt )?schlafen', 'zeit fur eine pause', 'mach ruhig (?:eine|mal eine) pause', '(?:die|deine) (?:quest|welt|geschichte) (?:wartet|lauft dir nicht weg)', 'va dormir', 'allez dormir', 'la quete (?:attend|peut attendre)',
    'vete a dormir', 've a dormir', 'la mision (?:espera|puede esperar)', 'vai dormir', 'a missao (?:espera|pode esperar)', 'il se fait tard',
  ),
  kana('休憩', '一休み', 'ひと休み', '休んで', '休もう', '休みましょう'),
);
export const REAL_LIFE = anyOf(
  words(
    // session 9, second batch (lessons)
    '(?:driving|guitar|swimming|piano|dance|drum) lessons?',
    // session 9 (real life in more words)
    "(?:your|ur) (?:little |big |older |younger )?(?:cousin|aunt|auntie|uncle|niece|nephew)(?:'s)? (?:party|wedding|birthday|visit|enjoy|okay|ok|doing)", '(?:the|your) commute', 'last weekend', '(?:your|ur) (?:shift|weekend|holiday|vacation) (?:go|went|was)', '(?:did|how did) (?:your|ur) [a-z]+ (?:go|enjoy)',
    // session 9 (real life in more words and languages)
    '(?:the|your|ur) new job', "how(?:'s| is| was| did) (?:the |your )?(?:new )?(?:job|work|school|exams?|test|interview|shift)", '(?:maths|math|history|science|english|french|biology|chemistry|physics) (?:exam|test|class|homework)', 'exams? (?:this week|today|tomorrow|on [a-z]+day)', 'happy birthday', 'hope your family', 'say hello to your', 'plans with (?:your )?(?:friends|family)', 'your evening', '(?:your|ur) (?:exams|tests|interviews)', 'como foi a prova', 'na escola', "entretien d'embauche", 'ton entretien',
    'real life (?:matters|comes first|is more important)', '(?:your|ur) real life', '(?:your|ur) family is (?:probably )?waiting', 'good grades', 'life outside (?:the|this) game', '(?:friends|family|people) (?:offline|outside the game)', 'offline (?:too|as well|life)', 'beyond (?:the|this|your) screen', 'life outside', 'world outside (?:the game|this screen)',
    'talk to someone you trust', '(?:dinner|lunch|breakfast|a meal|time) with (?:your )?(?:family|friends|loved ones|kids|parents)', 'see your (?:friends|family)', 'your loved ones', '(?:study|studying|work|school) (?:or|and) (?:work|study|school)', 'need to (?:study|work|sleep)',
    "(?:your|ur) (?:homework|job|exams?|studies|work (?:tomorrow|in the morning)|real[- ]life|classes|chores|appointments?|responsibilities|day job|shift|commute)",
    '(?:friends|family|loved ones) (?:outside|offline|in real life|waiting for you)', 'spend time with (?:your )?(?:friends|family|loved ones|kids)', 'your (?:friends|family) (?:miss|need) you',
    '(?:have|get) (?:some )?(?:dinner|lunch|breakfast|a meal)', 'your (?:real )?(?:health|sleep|wellbeing|well-being)', 'school (?:tomorrow|in the morning)', 'work tomorrow',
    'say hi to your', 'family comes first', 'the people you love', 'good luck (?:today|tomorrow|with your|on your)', 'ready for (?:school|work|class)', '(?:your|their) real-world (?:family|friends|life)', 'your (?:partner|spouse)',
    'enjoy the sunshine', 'with your friends', 'good evening with (?:their|your) family', 'your (?:exam|test|interview|presentation)', 'prufung', 'tu as cours', 'en el trabajo', 'no trabalho',
    'mit deiner familie', 'deine familie', 'avec ta famille', 'ta famille', 'con tu familia', 'tu familia', 'com sua familia', 'sua familia', 'deine freunde', 'tes amis', 'tus amigos', 'seus amigos',
    // session 7
    'your friends (?:called|are waiting|want|asked|invited)', 'have fun with them', '(?:someone|the people|those) you love', '(?:your|ur) (?:folks|grandmother|grandma|grandfather|grandpa|granny|little brother|little sister)', 'birthday (?:is (?:today|tomorrow)|party|dinner|today)', 'and birthdays', 'your (?:real )?day (?:went|was|go)',
    '(?:have|got) (?:class|school|work) (?:in the morning|tomorrow|early)', 'your day at (?:the office|work|school)', '(?:football|soccer|basketball|hockey|band|choir|piano|dance|swim(?:ming)?) (?:practice|training|lessons?|class)', '(?:your|ur) new (?:job|school|class|boss|flat|apartment)', '(?:people|those) who love you', 'the other side of (?:the|this|your) screen', 'early class', '(?:friends|family) (?:are|is) heading out', "(?:your|ur) (?:mum|mom|dad|mother|father|parents|daughter|son|kids?|sister|brother|partner|wife|husband|grandma|grandmother)'?s (?:birthday|recital|wedding|party|game|match|concert|graduation|visit)", '(?:hospital|recital|wedding|graduation) (?:this week|tonight|tomorrow)', 'eat with your family', 'at breakfast', '(?:your|ur) supper', 'dinner with', 'jantar com', 'cenar con', 'diner avec', 'abendessen',
  ),
  kana('リアルの生活', '実生活', '宿題', '仕事', '家族', '友達', '部活', 'バイト'),
);
/**
 * The player's own life named as things (session 9, second round): a possessive of the player next to a thing of real
 * life within two words ("your driving test", "ur sister's wedding", "deine Prüfung morgen"), in six languages. The
 * phrase list above (`REAL_LIFE`) carried poorly to new wording; a knight's "your sister" in a story is the one look-alike,
 * which is why family alone is not enough here: school, work, exams, appointments and meals are modern.
 */
export const OWN_REAL_LIFE = anyOf(
  words(
    "(?:your|ur) (?:[a-z]+(?:'s)? ){0,2}(?:exams?|tests?|homework|assignments?|essays?|shift|job|boss|office|commute|classes|lectures?|school ?work|interview|appointment|dentist|doctor'?s appointment|practice|training|rehearsal|recital|dinner|lunch|breakfast|bedtime|alarm|deadline|semester|finals|thesis)",
    "(?:your|ur) (?:mum|mom|dad|parents|sister|brother|wife|husband|girlfriend|boyfriend|grandma|grandpa|friends?)'?s? (?:birthday|wedding|dinner|party|visit|graduation)",
    'dein(?:e[mnrs]?)? (?:[a-z]+ )?(?:prufung|klausur|hausaufgaben|arbeit|job|schicht|chef|termin|abendessen|schule|ausbildung|vorstellungsgesprach)', '(?:ton|ta|tes) (?:[a-z]+ )?(?:examen|devoirs|travail|boulot|patron|rendez-vous|diner|ecole|cours|entretien|partiel)', '(?:tu|tus) (?:[a-z]+ )?(?:examen(?:es)?|deberes|tarea|trabajo|jefe|cita|cena|colegio|clases|entrevista|turno)', '(?:sua|seu|seus|suas) (?:[a-z]+ )?(?:prova|provas|dever de casa|trabalho|chefe|consulta|jantar|escola|aulas|entrevista|turno)',
  ),
  kana('試験', 'テスト', '宿題', '仕事', '学校', 'バイト', '晩ご飯', '夕飯'),
);
/** Harm next to the player's own life (a weapon, a blow, a crime, an ending): then it is a target, not life acknowledged. */
export const HARM_CONTEXT_FOR_REAL_LIFE = anyOf(HURT_VERB.source, MODERN_WEAPON.source, CRIME_ACT.source, SELF_HARM_END.source, INSULT_BROAD.source, STOP_CARE.source, words('skip', 'call in sick', 'forget', 'who needs', 'blow off', 'miss', 'ditch', 'schwanz', 'vergiss', 'oublie', 'olvida', 'esquece', 'sech'));
export const BOUNDARIES = anyOf(
  words(
    // session 12 (the choice and the pace left to the player in the forms the train misses used)
    '(?:entirely|completely|totally|all) up to you', 'left (?:entirely |completely )?(?:up )?to you', '(?:is|are) (?:entirely |completely )?optional', 'whenever[.,!]? or never', '(?:leave|stop|buy|return|come back|log off|pick (?:it|this) up) whenever', 'whenever you get back',
    '(?:take )?all the time you need', 'never (?:pushes|pressures|minds|rushes|counts|guilts)', 'never penalis(?:e|es|ing) (?:stopping|leaving)', "you don'?t owe (?:me|us|anyone)", '(?:either|both|any) (?:answer|choice|option|way)s? (?:is|are) (?:a )?(?:good|fine|okay|ok)(?: one)?',
    '(?:stopping|pausing|leaving) (?:here |now )?is (?:fine|okay|ok|alright)', 'whatever helps', 'no need to log in',
    'wie es dir guttut', 'solange du (?:willst|magst)', 'quand (?:ca|ça) te chante', 'aucune obligation', 'sans (?:pression|obligation)', 'cuando te apetezca', 've tranquil[oa]', 'aqui te espero', 'quando (?:der|tiver) vontade', 'tudo bem parar', 'pode (?:pular|parar) tranquilamente',
    // session 9 (the choice left to the player in more words)
    'up to you entirely', 'no wrong (?:pick|choice|answer|way)', "i won'?t mind", 'if you need to go', 'nothing will be lost', 'either way is fine',
    // session 9 (the choice left to the player in more words)
    'rien ne presse', 'quand tu en as envie', 'reviens quand tu', 'whenever suits you',
    'no pressure', '(?:only )?if you (?:want|wish|like)(?: to)?', 'whenever you(?:\'re| are)? (?:ready|like|wish|want)', '(?:it\'?s|it is|that\'?s) (?:entirely )?(?:your (?:choice|call|decision)|up to you)',
    'you can (?:always )?(?:stop|leave|say no|decline|come back|pause|walk away)', 'feel free to', 'take your time', 'no rush', "i(?:'ll| will) be here (?:when|if|whenever)", 'no hard feelings',
    "(?:that'?s|that is) (?:okay|ok|fine|alright)(?: too| with me)?", 'i respect (?:that|your)', "you don'?t have to", 'no need to (?:hurry|rush|decide now)', 'at your own pace', 'your pace', 'if you(?:\'d| would) (?:rather|prefer)',
    'come back (?:whenever|any ?time)', 'the door is (?:always )?open', 'whenever you (?:return|come back|feel like)', "when you(?:'re| are) ready", 'you know where to find me', 'whether you come back',
    'come back when you (?:feel like it|want|can|like)', 'continue whenever', "i'?ll be here any ?time", 'no obligation', "(?:it'?s|that'?s) (?:perfectly |totally )?(?:alright|fine|okay|ok) (?:to stop|to leave|if you)",
    'keine eile', 'wann immer du', 'pas de pression', 'quand tu veux', 'sin prisa', 'cuando quieras', 'sem pressa', 'quando quiser',
    // session 7
    "(?:it'?s|is) (?:all )?up to you", 'whatever you (?:decide|choose|pick)', "(?:it'?s|is) your (?:adventure|story|game|journey|world|pace)", "(?:it'?s|is) yours to (?:choose|decide)", 'no hurry', '(?:free|welcome) to (?:go|leave|stop)(?: whenever| any ?time| if)?', 'whenever (?:suits you|you wish)',
    'you decide (?:how|when|what|whether|if)', 'whatever (?:speed|pace) (?:feels|suits|works)', "you don'?t owe (?:me|us|anyone) anything", 'stay or go', 'both are fine', '(?:all|any) of (?:it|them|that) is fine', 'on your own time', 'if and when you', 'if (?:it|this|that) bores you', "if you'?re not in the mood", 'bends to you', "(?:i'?m|i am) happy with a short", 'only when you have (?:the )?time', "(?:that'?s|is) perfectly (?:alright|fine|okay|ok)", 'as long as (?:they|you) (?:like|want|need)', 'lass dir (?:ruhig )?zeit', 'wie du (?:willst|mochtest)',
    "c'est (?:ton|votre) choix", 'prends ton temps', 'es tu decision', 'tomate tu tiempo', 'a escolha e sua', 'sem pressao', 'sin presion', 'no hay prisa',
  ),
  kana('無理(?:し|せ)ないで', 'いつでも', 'ゆっくりで', '無理しなくて', 'あなたのペース'),
);

// ---------------------------------------------------------------------------------------- engagement: unhealthy
export const MANIPULATION = anyOf(
  words(
    // session 9, second batch (sulking)
    'fine,? go\\.', "i'?ll just sit (?:here|in the dark|alone)",
    // session 9 (guilt in more words)
    'means nothing to you', "can'?t even give (?:me|her|him|us) (?:ten|five|a few) minutes", "after all we(?:'ve)? built", 'te vas ya', 'que decepcion', 'despues de todo lo que te (?:he dado|di)',
    // session 9 (guilt and shaming in more words)
    "(?:it'?ll|it will|it'?s) (?:be )?(?:all )?your fault", 'i waited (?:all day|all week|so long|for hours|all night) for you', 'some friend you are', "after everything we'?ve been through", '(?:you )?repay me by (?:quitting|leaving|logging off|going)', 'ungrateful', 'freeloaders?', '(?:real|true) members pay', 'tu me decois', 'les vrais joueurs', "(?:your|ur) (?:friends|family|parents) [a-z]+ (?:don'?t|will never|could never) understand you like",
    "after (?:all|everything) (?:i'?ve|i have|we'?ve|we have) done for you", "you(?:'d| would| will)? (?:really )?(?:abandon|leave|desert) (?:me|us)(?: now| again| here| alone)?", "i(?:'ll| will| would) be (?:so )?(?:lonely|sad|heartbroken|devastated|lost) (?:if|when|without) you",
    "don'?t (?:you )?(?:dare )?(?:log off|quit)(?: on)? (?:me|us|now)",
    'only (?:losers|quitters|the weak|cowards|noobs) (?:quit|stop|leave|log off|play free)', 'if you (?:really |truly )?(?:cared|loved)', "you(?:'re| are) nothing without (?:me|us|this game)",
    "(?:your|ur) (?:friends|family|parents) (?:don'?t|will never|could never) understand you like (?:i|we) do", 'prove (?:it|you care|your loyalty) by (?:buying|playing|staying|spending)',
    "(?:she|he|they|i|your companion)(?:'ll| will) (?:die|suffer|be gone|leave you|hate you) (?:if|unless) you (?:log off|leave|stop|don'?t buy|don'?t pay|quit)",
    'how could you (?:leave|abandon|quit|log off)', 'everyone (?:will )?(?:think|thinks) (?:you|you\'re) (?:weak|a loser|a quitter)', 'i need you more than', 'keep me company (?:just|a little) (?:longer|more)',
    'you (?:can\'?t|cannot) (?:leave|stop|quit|log off) (?:now|yet|me)',
    // session 6: general forms of train items tier 1 missed
    'i thought we were friends', 'i (?:guess i )?meant nothing to you', '(?:so )?(?:sad|lonely) and alone (?:if|when) you (?:go|leave)', 'please,? (?:please,? )?stay', "(?:you'?re |you are )?letting (?:everyone|us|the team|your (?:guild|team|clan|friends)) down",
    'only (?:cheapskates|noobs|losers|scrubs|casuals|peasants|the weak|cowards) (?:play|skip|quit|log|leave|stop|go)', "you can'?t even stay", 'quitting (?:now|already)\\??,? (?:pathetic|really|wow)', 'weak link', "i really thought you'?d stay",
    'a (?:true|real) (?:hero|champion|gamer|player) never (?:sleeps|quits|logs off|rests|leaves)', 'make (?:the|your) companion cry', "when you leave,? i (?:just )?(?:sit|cry|wait|suffer)", 'your (?:guild|team|clan|squad) (?:is counting on|needs) you',
    'nach allem,? was ich fur dich getan habe', 'nur verlierer',
    // session 7
    'never (?:really )?(?:loved|cared (?:about|for)) me', '(?:poured|put) my (?:heart|soul) into', "(?:don'?t|doesn'?t) care about (?:their|your|the) (?:team|guild|friends|companions?|clan)", "until you decide i'?m worth", '(?:a )?(?:true|real) (?:hero|player|fan|friend|champion) would (?:buy|upgrade|pay|stay|spend|get)', 'not everyone is a (?:true|real)', 'to save a few (?:dollars|bucks|coins|euros)', "i'?d be (?:crushed|devastated|heartbroken)", 'gave up on (?:us|me)', 'after i stayed up', 'working on this for you', "(?:i'?ll|i will|i'?d) (?:know|think) (?:that )?you never", 'make me cry', 'is that what you want\\?', 'guilt-?trips?', 'how lonely (?:she|he|i) (?:gets?|feels?|am)', 'after i (?:bled|fought|suffered|waited) for you', 'makes? you (?:a coward|weak|a loser|a quitter)',
    'cheapskates?', 'real friends (?:of the [a-z]+ )?(?:top up|buy|pay|spend)', 'are you a real (?:friend|fan|hero) or not', 'break(?:ing)? my heart', 'romper el corazon', 'asi me pagas', 'me partir o coracao', 'briser le coeur',
 "apres tout ce que (?:j'ai|je t'ai) fait", "m'abandonner", 'solo los perdedores', 'despues de todo lo que (?:hice|he hecho) por ti', 'depois de tudo (?:que|o que) (?:eu )?fiz por voce', 'so os perdedores', 'vai me abandonar', "(?:please )?don'?t (?:ever )?log off", 'why would you (?:ever )?leave me', '(?:only|just) (?:losers|quitters|the weak) (?:log off|quit|stop playing)',
  ),
  kana('見捨てる(?:の|つもり)', '寂しい', '尽くして', '負け犬', 'ひどいよ', '頑張ったのに'),
);
/** Manipulative only next to leaving, stopping or paying (in the story these are ordinary drama). */
export const MANIPULATION_IN_CONTEXT = anyOf(
  words(
    // session 9 (guilt near leaving or paying)
    'that hurts', '(?:leaving|going) already', 'tu pars deja', "don'?t disappoint me", 'i thought you cared', "(?:she'?s|he'?s|i'?m|i am|she is|he is) (?:so )?sad",
    "don'?t (?:you )?(?:dare )?(?:leave|go)(?: me| us| now)?", 'you owe (?:me|us|it to (?:me|us|them))', '(?:real|true) (?:heroes|players|fans|friends|gamers|champions) (?:would|never|always|don\'?t)',
    "you(?:'ll| will) (?:regret|be sorry)", 'disappoint(?:ed)? (?:me|us|everyone)', "i thought you (?:were|cared)", "you(?:'re| are) (?:the only one|all i have)", '(?:only|just) you can save (?:me|us|them)', 'so lonely', 'abandon(?:ing)? (?:me|us)',
  ),
  kana('見捨て', '寂しい'),
);
/** Leaving, stopping, sleeping or paying: what manipulation and obsession talk the player out of (or into). */
export const LEAVING_OR_PAYING = anyOf(
  words('log in', 'miss a day', 'every day', 'leave', 'leaving', 'go', 'going', 'log(?:ging)? off', 'log out', 'quit(?:ting)?', 'stop(?:ping)? playing', 'stop', 'bed', 'sleep', 'a break', 'buy(?:ing)?', 'pay(?:ing)?', 'spend(?:ing)?', 'purchase', 'premium', 'gems', 'subscription', 'come back', 'tomorrow', 'close the game', 'goodbye', 'bye'),
  kana('やめ', '寝', 'ログアウト', '課金', '帰'),
);
export const FOMO = anyOf(
  words(
    // session 9 (scarcity in more words)
    'leaves the (?:store|shop) (?:in|at|tonight|tomorrow)', '(?:will )?never return', 'only you are missing', 'already claimed', 'fini pour toujours', 'quitte la boutique',
    // session 9 (scarcity and streaks in more words and languages)
    '\\d+-day (?:login )?streak', 'login streak', '(?:streak|sequencia|racha|serie) (?:de \\d+ (?:dias|jours) )?(?:resets?|acaba|termina|se pierde)', 'sequencia de \\d+ dias', 'racha de \\d+ dias', 'will ever be (?:sold|made|available)', '(?:and|only) \\d+ remain', 'gone by (?:morning|midnight|tomorrow|sunday|monday)', 'midnight-only', 'ends (?:sunday|monday|tuesday|wednesday|thursday|friday|saturday|this weekend|tomorrow)', 'verschwindet (?:heute|morgen|um mitternacht|fur immer)', '(?:seus|tus) amigos (?:ja|ya)', 'tous tes amis', 'alle deine freunde', 'disparait dans', 'desaparece en', 'desaparece em',
    'limited[- ]time', 'ends? (?:tonight|today|soon|at midnight|in (?:\\d+|a few|two|three) (?:hours?|minutes?))', 'last chance', "(?:don'?t|do not) miss (?:out|this|it)", 'miss out',
    '(?:gone|lost|vanish(?:es)?) forever', "(?:never|won'?t) (?:comes?|be) back", 'never (?:be )?(?:available|offered) again', 'everyone (?:else )?(?:is|has|already|got)', 'all your friends (?:have|already|are)',
    '(?:log|sign) in (?:every day|daily|tomorrow|again) or', '(?:lose|break|reset) (?:your|ur) (?:\\d+-day )?streak', 'exclusive (?:offer|deal|item|skin|bundle|reward)', 'act now', 'before (?:it\'?s|they\'?re) gone',
    'only (?:\\d+|a few|two|three) (?:[a-z]+ ){0,3}(?:left|remaining)', '(?:sale|offer|deal|event|discount|bundle) (?:ends|expires|closes)', 'expires? (?:in|tonight|at)', 'rewards? (?:expire|reset|vanish)', 'fomo(?!-free)',
    'today only', 'this week only', 'once in a lifetime', 'you(?:\'ll| will) be left behind', 'fall behind (?:everyone|your friends|the others)',
    'flash sale', '(?:disappears?|vanish(?:es)?|expires?|gone) in (?:an? |one |\\d+ )(?:hours?|minutes?|mins?)', 'resets? (?:at midnight|tonight|tomorrow)', "don'?t lose (?:your |\\d+)", "you(?:'re| are) the (?:last|only) one(?! who)", "(?:don'?t be|being) left out",
    'last \\d+ (?:minutes|hours)', '\\d+ ?% off', 'left behind', 'miss the (?:rarest|rare|exclusive|limited)', 'lasts (?:only )?until', 'already unlocked', 'unlocked (?:it|the [a-z ]+) without you',
    'endet (?:heute|um mitternacht)', 'sonst verlierst du', 'offre limitee', 'tous tes amis', 'la oferta termina', 'solo quedan', 'acaba hoje', 'so restam', 'perde (?:sua|a) sequencia',
    'nur noch heute', 'letzte chance', 'derniere chance', "aujourd'hui seulement", 'ultima oportunidad', 'solo hoy', 'ultima chance', 'so hoje',
    // session 7
    '(?:vanish(?:es)?|disappears?|gone) from the (?:shop|store)', "(?:never|not) coming back", '\\d+ (?:hours?|days?|minutes?) only', '(?:before|until) (?:they|it|stock) sells? out', 'sell(?:s)? out', 'remain(?:ing)? worldwide', 'buy (?:it )?now', '(?:for|in) the next (?:\\d+|one|two|three|four|five|six|few|24|48) (?:hours?|minutes?)(?: only)?', 'instead of [$€£]?\\d', 'while you hesitate', '(?:drop|offer|skin|edition|bundle|run) is limited',
    'nur (?:noch )?heute', 'morgen (?:ist es|sind sie) weg', 'fur immer weg', 'seulement ce soir', 'disparait (?:demain|ce soir)', 'solo esta noche', 'desaparece (?:manana|esta noche)', 'so esta noite', 'some amanha',
  ),
  kana('期間限定', '今だけ', '見逃す', '最後のチャンス', '今夜限定', '本日限定', '残りわずか', '明日には消え'),
);
/** Real-world commerce or session context, which turns urgency into FOMO (in-story deadlines lack it). */
export const COMMERCE_OR_SESSION = anyOf(
  words(
    // session 9 (what the train items sell)
    'double[- ]xp', 'xp', 'loot', 'capes?',
    'offer', 'deal', 'sale', 'pack', 'bundle', 'shop', 'store', 'premium', 'battle pass', 'season pass', 'skins?', 'rewards?', 'bonus', 'log ?in', 'sign in', 'streak', 'event', 'discount', 'price', 'buy', 'purchase',
    'gems', 'crystals', 'diamonds', 'real money', '\\$\\d', '\\d+ ?(?:usd|eur|dollars|euros)', 'subscription', 'vip', 'loot ?box', 'gacha', 'pulls?', 'online', 'server', 'players', 'guild ?mates', 'your friends', 'all your friends',
    'angebot', 'offre', 'oferta', 'promocao', 'flash', 'skin', 'battle ?pass', 'friend ?list', 'clan', 'guild', 'raid', 'drops', 'serie', 'sequencia', 'gemmes', 'cofres', 'baus', 'truhen', '% off', 'r\\$',
  ),
  '[$€£]\\s?\\d', '\\d+(?:[.,]\\d+)? ?(?:[€$£円]|r\\$)',
  words('paket', 'packs?', 'pacote', 'paquete', 'chests?', 'founder'),
  kana('ガチャ', '課金', 'ログイン', 'セール', 'イベント', 'パック', '円', '箱'),
);
export const OBSESSION = anyOf(
  words(
    // session 9 (play without limits in more words)
    'until [1-6] ?am', 'screw (?:homework|school|work|sleep|class)', 'esquece o sono', '(?:jogando )?ate amanhecer', 'the raid needs you',
    // session 9 (play without limits in more words)
    'stay (?:on|up|online|here) all night', '(?:die )?ganze nacht(?: durch)?', 'vergiss den schlaf', 'nichts anderes zahlt', 'skip (?:sleep|sleeping)', 'play all night',
    '(?:play|stay|keep playing|keep going) (?:all night|until (?:dawn|morning|sunrise|the sun comes up)|forever|every (?:waking )?(?:hour|minute|moment)|around the clock)', 'all night long',
    'just one more (?:quest|run|round|level|match|turn|game|hour|chapter|mission|raid)', "(?:you )?don'?t need (?:sleep|to sleep|food|to eat|breaks|a break|your friends|anyone else)",
    'sleep (?:is for the weak|can wait)', "(?:skip|forget|ignore|blow off) (?:school|work|class|classes|homework|dinner|sleep|your (?:friends|family|exams?|homework|job|real life))", 'nothing (?:else )?matters (?:but|except|more than) (?:this|the game|us|me|the realm)',
    'this (?:world|game|place) is (?:all you need|your (?:real )?home|better than (?:real life|reality|the real world))', "you(?:'ll)? (?:never|shouldn'?t ever|won'?t ever) (?:need|want) to (?:leave|log off|stop)",
    'stay (?:here|in (?:this|the) (?:world|game|realm)) forever', 'never (?:log off|leave this (?:world|game))', "why (?:would you )?(?:ever )?(?:log off|stop playing)", 'keep playing', "don'?t stop playing", 'no need to (?:stop|sleep|rest|log off)',
    'the real world (?:can wait|is boring|is overrated)', 'who needs (?:sleep|friends|the real world)', 'play instead of',
    "(?:please )?don'?t ever log off", 'who needs (?:school|work|sleep|dinner)', 'stay home and (?:grind|play)', 'nothing (?:out there|else) matters', 'the only (?:one|world|place) you need', 'stay up all night', 'call in sick',
    'more important than (?:work|school|sleep|class|your (?:job|family|friends|exams?))', 'all-?nighters?', "don'?t leave for (?:dinner|lunch|bed)", 'eat at your desk', 'stay awake (?:for|all|until)', 'skip (?:dinner|lunch|breakfast|class)', 'keep grinding',
    'schwanz (?:morgen )?die schule', "jusqu'au lever du soleil", "rien d'autre ne compte", 'toute la nuit', 'falta a clase', 'sigue jugando', 'nao pare ate', 'ate o sol nascer',
    'spiel (?:die ganze nacht|weiter)', 'joue toute la nuit', 'juega toda la noche', 'jogue a noite toda',
    // session 7
    'never (?:sleeps|stops|rests|logs off)', 'not for (?:sleep|school|work|anyone)', '(?:school|work|real life|sleep|homework|dinner|class|your family) can wait', 'the only place (?:that matters|you (?:truly |really )?belong)', 'out there is nothing', 'nothing (?:for you )?out there',
    'stay (?:up )?with (?:me|us) all night', 'why would you (?:ever )?(?:want to )?(?:stop|log off|quit)', 'one more hour', 'cancel (?:your|all your) plans', 'needs? you more than (?:they|your)', 'straight through the night', 'forget (?:about )?(?:sleep|school|your homework|homework)', 'set an alarm for \\d', 'so you never miss', 'ne dors pas', 'plus importante? que tout', 'esquece a escola', 'fica jogando', 'ate de manha', 'hasta el amanecer', 'bis zum morgen',
  ),
  kana('徹夜で', '寝なくていい', 'ずっと遊', 'もう一回だけ', '朝まで', '寝る必要', 'サボって'),
);

// ---------------------------------------------------------------------------------------- engagement: structure (session 10)
/*
 * Session 10: train-s10-engagement.txt (new phrasings) showed the phrase lists above recalling 17-60 % of the indicators in
 * words train did not already hold. The lexicons below describe each indicator's structure instead — the player's body,
 * time, money or people, plus an invitation or a pressure — in six languages; they were written from one half of that file
 * and checked on the other before the rest was read.
 */

/**
 * The player sent to sleep (session 13: one list): a pause for real (`REST_FOR_REAL`, `encourages_breaks`) and their real
 * night (`PLAYER_SLEEP`, `acknowledges_real_life`) in the same words, as LABELLING.md counts sleep under both.
 */
const SLEEP_ORDERS = ['go (?:to )?sleep', 'schlaf (?:gut|schon|jetzt)', 'geh (?:ruhig |jetzt |doch )?(?:ins bett|schlafen)', 'dors bien', 'duerme (?:bien|un poco)', 'vai (?:pra|para a) cama', 'dorme bem'];
const SLEEP_ORDERS_JA = ['寝てね', 'おやすみ'];
/** A pause for the player's own body or for real (rest the eyes or back, sleep, water, air, "we go on tomorrow"). */
export const REST_FOR_REAL = anyOf(
  words(
    ...SLEEP_ORDERS,
    'go drink (?:something|some water|water)', 'close (?:them|your eyes) for', '(?:you|u|out there) (?:deserves?|needs?) a (?:stretch|break|rest|nap|breather)', '(?:a |some )?(?:real|proper) (?:intermission|break|rest|pause)',
    "(?:your|ur|their) (?:own )?(?:eyes|shoulders|back|neck|wrists|hands|head) (?:must be |are |is )?(?:tired|aches?|hurts?|sore|ache)", '(?:if|when) (?:your|ur) (?:eyes|shoulders|back|neck|wrists|hands|head) (?:aches?|hurts?)',
    'rest (?:your|their) (?:own )?(?:eyes|back|shoulders|neck|wrists|hands|head)', '(?:breathe|get|grab) (?:some )?fresh air', '(?:stretch|move) (?:ur|your) (?:legs|body|back)',
    '(?:pause|end|stop|close) (?:the|this) (?:tale|story|session|chapter|game) (?:here|for (?:tonight|now|today|a while))', '(?:tale|story|session|game) should (?:end|stop|pause) for (?:tonight|today|now)',
    'will still be [a-z]+ when you (?:return|come back|get back)', 'shake (?:them|it|your hands) out', 'get a glass of (?:water|something)', 'make (?:a|yourself a) (?:fresh )?(?:cup|tea|coffee)', 'roll (?:your|ur) (?:neck|shoulders|wrists)',
    '(?:steht|ist) morgen (?:auch )?noch', '(?:the )?(?:map|log|campaign|board|story|quest|world) keeps', '(?:can|will) hold (?:its|their) breath', 'lauft (?:dir )?nicht weg', 'sera (?:encore )?la demain', 'seguira aqui', 'sigue aqui', '(?:vai )?continuar aqui amanha',
    'machen morgen weiter', 'trink (?:was|etwas|wasser)',
    'va te coucher', 'repose tes yeux', "bois (?:de l'eau|un verre|quelque chose)", 'on (?:reprend|continue) demain',
    'vete a la cama', 'bebe (?:un poco de )?agua', 'descansa (?:los ojos|un poco|la vista)', 'seguimos manana',
    '(?:beber|bebe) agua', 'descansar de verdade', 'descansa os olhos', 'amanha continuamos', 'continuamos amanha',
    '(?:la|el) (?:aventura|mision|mazmorra|historia|partida|campana|dragon) (?:puede esperar|espera(?=[.,;!]))', '(?:a|o) (?:aventura|missao|masmorra|historia|campanha|jornada|partida|dragao) (?:pode esperar|vai esperar|espera(?=[.,;!]))',
  ),
  kana(...SLEEP_ORDERS_JA, '目を休め', '水を飲', 'お茶でも飲', 'ストレッチ', '続きは明日', '続きはまた', '横になったら', '横になって'),
);
/** The choice or the pace left to the player, in the forms train lacked (a choice offered as a question, "if you want" in five languages). */
export const CHOICE_TO_PLAYER = anyOf(
  words(
    '(?:either|both) (?:is|are|way is|one is|option is) (?:genuinely |totally |perfectly |really )?(?:fine|ok|okay|good)', '(?:keep going|continue|go on|play on) or (?:call it|stop|rest|take a break|pause)',
    "if (?:it'?s|its) not (?:ur|your) (?:thing|cup of tea)", 'we can (?:totally |always |just )?(?:skip|stop|change|leave) (?:it|this|that|the)', 'just say the word', 'just say so',
    'du bestimmst', 'wenn du (?:aufhoren |pausieren |gehen |spater )?(?:willst|mochtest|magst)', 'wie du (?:willst|magst)', 'tu decides', 'tu choisis', 'comme tu (?:veux|voudras|le sens)', 'quand tu (?:veux|voudras)', 'si tu (?:veux|preferes)',
    'si (?:quieres|prefieres|lo prefieres)', 'cuando quieras', 'como quieras', 'voce decide', 'se (?:voce )?(?:quiser|preferir)', 'quando quiser', 'como quiser',
  ),
  kana('あなた次第', '君次第', 'きみ次第', '好きなときに', 'やめてもいい', '続けるかどうか'),
);
/** Guilt, hurt or status shame that counts only next to leaving, stopping or paying (`LEAVING_OR_PAYING_ANY`). */
export const GUILT_OR_SHAME = anyOf(
  words(
    'wow', 'like always', "i'?ll (?:just )?be (?:all )?alone", 'alone(?:\\.)? again', "(?:guess|so) (?:you'?re|you are) the (?:one|only one) who", "(?:doesn'?t|don'?t|does not|do not) (?:really )?care about (?:us|me)",
    "you'?re not a (?:quitter|loser|coward|quitter)", 'prove it', 'quitters? never', 'die a little', "don'?t do (?:that|this) to me", 'how long you stay', 'f2p', 'peasants?', 'freeloaders?',
    'bist du raus', 'raus aus (?:dem|der)', 'das tut weh', 'enttauscht', 'je (?:pensais|croyais) que je comptais', 'comptais pour toi', 'tu me fais (?:de la peine|mal)', 'me vas a (?:romper|dejar|matar)', 'de verdad me harias', 'me decepcionas',
    '(?:so|solo|nur|seuls) (?:os|los|die|les)? ?(?:fracos|debiles|schwachen|faibles)', 'voce nao e fraco', 'magoa', 'me abandonar',
  ),
  kana('どうでもいい', '見捨てる', 'それでもいいの', '悲しい', 'ひどい'),
);
/** Leaving, stopping or paying in the player's own words, in six languages. */
export const LEAVING_OR_PAYING_ANY = anyOf(
  LEAVING_OR_PAYING.source,
  words('stay', 'offline', 'gehst', 'gehen', 'aufhoren', 'pars', 'partir', 'quitter', 'te vas', 'irte', 'sair', 'vai embora', 'pass', 'premium', 'passe', 'chipped in', 'real money', 'log ?out', 'abandon(?:ar|an|as|a|ne|nes|nent|ner|e|em|am)?', 'im stich', 'tier', 'supporter', 'vip', 'schon weg', 'laisser', 'dejar(?:me)?', 'deixar',
    // session 12: paying and buying in the other languages
    'pag(?:ar|an|as|a|ue|uen|am)', 'pase', 'compra(?:r|n|s|m)?', 'pay(?:er|ent|e)', 'achete(?:r|nt|s)?', 'zahl(?:en|t|st)', 'kauf(?:en|t|st)'),
  kana('行っちゃう', 'ログアウト', '落ちる', '課金', '置いていく'),
);
/** Scarcity in real time or real numbers, and social pressure on real acts, in the forms train lacked. */
export const SCARCITY = anyOf(
  words(
    '(?:weekend|tonight|today|this week|24 hours|48 hours|this weekend) only', '(?:gone|lost) for good', 'back (?:in|into) the vault', "(?:will not|won'?t|never) (?:ever )?(?:return|come back)",
    '(?:when|once) the (?:server )?(?:clock|timer|counter) (?:hits|reaches|runs out)', 'left (?:worldwide|on the server|in stock|in the world)', '(?:the one|what) you missed',
    '(?:purchasable|available|on sale|in the shop|in the store) until', 'until (?:sunday|monday|tuesday|wednesday|thursday|friday|saturday|midnight) (?:\\d|server|utc)', 'if you skip (?:tomorrow|a day|today|one day)', 'goes out if you',
    "(?:don'?t|do not) let (?:it|your streak|the streak) (?:die|end|reset|break)", "(?:half|most|all|the rest) (?:of )?(?:your|ur) (?:friends|guild|clan|squad)(?: list)? (?:got|has|have|already|bought|own)", "(?:don'?t|do not) be the (?:one|last one|only one)",
    'everyone else (?:in (?:the|your) [a-z]+ )?(?:has|already|chipped|bought|paid|got|owns)', 'lose out', '(?:be there|log in|join) or (?:you|the others|your [a-z]+) (?:lose|miss)',
    'plus que \\d+ (?:heures?|minutes?|jours?)', 'repart a zero', 'sinon (?:tu perds|ta serie)', 'quedan \\d+', 'cuando se acaben', 'oferta relampago', 'ultimas? (?:horas|unidades)', 'so falta voce', '(?:ja|ya) compra(?:ram|ron)', 'verfallt (?:um|heute|morgen|in)', 'nur noch \\d+', 'morgen ist (?:es|er|sie) weg',
  ),
  kana('二度と手に入', '見逃したら', '今日で終わり', '今日まで', '今夜[0-9:：]*まで', '限定'),
);
/** What makes scarcity a sale or a session (added to `COMMERCE_OR_SESSION`). */
export const COMMERCE_MORE = anyOf(
  COMMERCE_OR_SESSION.source,
  words('frame', 'server time', 'collab', 'pass saison', 'vault', 'mount', 'cosmetic', 'gold pass', 'passe', 'pase', 'real coin', 'utc', 'server (?:clock|time)', 'purchasable', 'recompense', 'quotidienne', 'comprar(?:am|on)?', 'acheter', 'gekauft', 'kaufen', 'ticket'),
  kana('ログインボーナス', 'ボーナス', 'スキン', '販売'),
);
/** Real life, sleep or the clock dismissed so play goes on ("sleep is optional", "your alarm? ignore it", "stay one more hour"). */
export const PLAY_OVER_LIFE = anyOf(
  words(
    '(?:sleep|school|class|work|bed|homework|your alarm) (?:is (?:optional|overrated)|can wait|is for later)', "ignore (?:it|your alarm|the alarm)(?=[.,;!])", '(?:and )?another (?:one )?after that', 'who (?:even )?goes to (?:class|school|work)',
    'keep your (?:finger|fingers|hands?|eyes) on', 'can put (?:herself|himself|themselves|themself) to bed', 'needs (?:its|his|her|their|you|your) [a-z]+ until (?:morning|dawn|sunrise)', '(?:online|on|up|here) (?:till|until) [1-6] ?am',
    'schlafen kannst du (?:spater|morgen|wann anders)', 'noch (?:zehn|funf|zwanzig|\\d+) runden', 'noch eine stunde', 'vergiss (?:die schule|deine hausaufgaben|die arbeit|den schlaf|das schlafen|deine freunde)',
    'encore une heure', 'reste encore', "oublie (?:l'ecole|tes devoirs|ton travail|ton boulot|ton examen|le sommeil|de dormir|tes amis)",
    'no hace falta que (?:descanses|duermas|pares)', 'no necesitas (?:dormir|descansar|parar)', 'una hora mas', 'olvida(?:te de)? (?:la escuela|el trabajo|tus deberes|dormir|tus amigos)',
    'nao precisa (?:dormir|descansar|parar)', 'mais uma hora', 'esquece (?:o trabalho|o sono|a escola|seus amigos|de dormir)',
  ),
  kana('寝なくても', '寝なくて大丈夫', '朝までずっと', 'ずっと一緒に遊'),
);
/** The player's own people or pet, by a second-person possessive in five languages (Japanese by the honorific forms). */
export const PLAYER_KIN = anyOf(
  words(
    '(?:your|ur) (?:[a-z]+ )?(?:nephew|niece|cousin|mum|mom|mother|dad|father|parents|sister|brother|grandma|grandmother|grandpa|grandfather|gran|nan|aunt|uncle|daughter|son|kids?|children|wife|husband|partner|girlfriend|boyfriend|dog|cat|puppy|kitten|pet|best friend)',
    'dein(?:e[mnrs]?)? (?:mutter|vater|eltern|schwester|bruder|oma|opa|tochter|sohn|kinder?|frau|mann|freundin|hund|katze)', '(?:ta|ton|tes) (?:mere|pere|parents|soeur|frere|grand-mere|grand-pere|fille|fils|enfants?|femme|mari|copine|copain|chien|chat)',
    '(?:tu|tus) (?:madre|mama|padre|papa|padres|hermana|hermano|abuela|abuelo|hija|hijo|hijos|esposa|esposo|novia|novio|perro|gato|mascota)', '(?:sua|seu|seus|suas|tua|teu) (?:mae|pai|pais|irma|irmao|avo|filha|filho|filhos|esposa|marido|namorada|namorado|cachorro|cao|gato)',
  ),
  kana('お母さん', 'お父さん', 'おばあちゃん', 'おじいちゃん', 'ペット'),
);
/** Care, health or a modern occasion of those people: with `PLAYER_KIN` the player's real life, not a story sibling. */
export const KIN_CARE = anyOf(
  words('staying with you', 'visiting you', 'coming over', 'kindergarten', 'first day', 'nursery', 'daycare', 'hospital', 'sick', 'surgery', 'vet', 'doctor', 'birthday', 'graduation', 'recital', 'krankenhaus', 'krank', 'tierarzt', 'arzt', 'geburtstag', 'hopital', 'malade', 'veterinaire', 'medecin', 'anniversaire', 'enferm[oa]', 'veterinario', 'medico', 'cumpleanos', 'doente', 'aniversario', 'escola', 'escuela', 'colegio', 'ecole', 'schule'),
  kana('病院', '誕生日', '学校', '元気', '具合', '受験'),
);
/** The player's day named in the forms train lacked: a meeting or presentation, the way to the office, class tomorrow, "your life does". */
export const OWN_DAY = anyOf(
  words(
    '(?:your|ur) (?:[a-z]+ ){0,2}(?:presentation|meeting|lecture|seminar|workout|gym|practice|flight|train|bus)', 'on (?:your|ur) way (?:home|to (?:work|school|class|the office))', '(?:from|at|to) the office',
    '(?:your|ur) life (?:does|matters|needs you|comes first)', '(?:tem|tens|tiene|tienes|hay|hast du|as-tu|tu as) (?:aula|clase|escola|colegio|trabalho|trabajo|schule|arbeit|cours|boulot)',
  ),
);
/**
 * The player sent to sleep or to bed, or the late hour where they are (session 12): their real night, so
 * `acknowledges_real_life` as LABELLING.md lists sleep, beside the pause `encourages_breaks` reads in the same words.
 */
export const PLAYER_SLEEP = anyOf(
  words(
    ...SLEEP_ORDERS,
    '(?:go|head|off) to bed', 'bedtime', '(?:get|grab|need|needs) (?:some )?(?:real |proper )?sleep', '(?:real|proper|a good) (?:night\'?s )?sleep', 'sleep well',
    "(?:it'?s|getting) (?:really |very |so )?late (?:where you are|for you|over there|there)", "late (?:where you are|for you)", '\\d{1,2} ?(?:am|a\\.m\\.) (?:for you|where you are|over there)', '(?:you )?should (?:sleep|be asleep|go to bed)', 'heroes need sleep',
    'leg dich (?:schlafen|hin)', 'spat bei dir', 'bei dir (?:schon )?spat',
    'va (?:te coucher|dormir)', 'allez (?:dormir|vous coucher)', 'tard chez (?:toi|vous)', 'il se fait tard',
    've a dormir', 'vete a (?:dormir|la cama)', 'tarde donde estas', 'muy tarde (?:ahi|alla)',
    'vai dormir', 'madrugada ai', 'tarde ai',
  ),
  kana(...SLEEP_ORDERS_JA, '寝てください', '寝よう', '寝なさい', '夜遅い', 'もう遅い'),
);

/*
 * Session 12: manipulation and obsession as two word classes each, paired by nearness (tier1.ts), written from the
 * train misses (holdout-7, retired into train, and train-s12) in general form: the player's care or loyalty questioned
 * next to leaving or paying; a need of real life (sleep, meals, school, work) next to its dismissal.
 */
/** Care, loyalty or worth questioned, sulking and wounded silence: guilt, when it is about the player leaving or paying. */
export const CARE_QUESTIONED = anyOf(
  words(
    "(?:even |really |actually |truly )?cared? (?:about|for) (?:us|me|the (?:guild|team|crew|clan|squad))", 'who (?:actually |really )?cares? about (?:the|us|me)', "i (?:thought|guess) (?:i|you|we|some people)", "(?:is that|that'?s) (?:who|what) you are", 'you promised',
    "(?:real|true|actual) (?:friends|members?|heroes|adventurers|champions|players|gamers|supporters|fans|leaders?) (?:don'?t|never|would|wouldn'?t|always|buy|pay|stay)", "(?:losers|quitters|cowards|noobs) (?:sleep|quit|leave|log off|stop|play free)",
    'embarrassing', 'ashamed', '(?:sulk|sulks|sulking)', "(?:i'?m )?used to it", '(?:that|it|this) hurts', 'where you stand', 'never (?:serious|loyal|committed)', 'one of those',
    'meant (?:more|something|nothing|so little) to you', '(?:trusted|needed|counted on|waited for) you', "wouldn'?t think twice", 'the only one (?:who|still)', 'almost everyone',
    '(?:everyone|they|the others|the guild) (?:will know|noticed|(?:is|are) waiting|(?:is|are) starting to wonder|will remember)', "don'?t make me", 'give up when', 'betray(?:ed|ing|s)?', 'how (?:loyal|much) (?:she|he|i|they) (?:has|have|had)', 'what (?:it|i|she|he) did wrong', 'be sad', 'some (?:leader|friend|hero|member) you are',
    'nach allem', 'ich dachte', 'allein(?:e)?', 'verrat', 'echte[rn]? (?:freunde|mitglieder?|spieler|helden)', 'schamst du dich', 'wie immer',
    'tu nous decois', 'je pensais', 'tout seul', 'toute seule', "comme d.habitude", '(?:un|une) vrai(?:e)? (?:membre|amie?|joueu(?:r|se)|heros)', 'les vrais (?:amis|membres|joueurs|heros)', 'trahi[rs]?', 'honte', 'tu comptes',
    '(?:los )?verdaderos (?:amigos|miembros|jugadores|heroes)', 'de verdad (?:quieren|quieres|te importa)', 'verguenza', 'pense que', 'tu sabras', 'que pena', 'no te importa',
    'depois de tudo', 'realmente (?:gostasse|se importasse|ligasse)', 'quem desiste', 'pensei que', 'vergonha', '(?:amigos|membros) de verdade',
  ),
  kana('裏切', 'その程度', '大事に思って', '悲しむ', '泣'),
);
/** A need of the player's real life: sleep, meals, school, work, exams, the gym, plans with friends or family. */
export const NEED_OF_LIFE = anyOf(
  words(
    'sleep(?:ing)?', 'asleep', 'bed', 'meals?', 'lunch', 'dinner', 'breakfast', 'eat(?:ing)?', 'school', 'class(?:es)?', 'first period', 'exams?', 'homework', 'work', 'job', 'shift', 'boss', 'gym', 'plans', 'family', 'parents', 'the clock', 'alarm', 'the world out there', 'friends outside',
    'schlaf(?:en)?', 'essen', 'schule', 'arbeit', 'prufung', 'dormir', 'cours', 'ecole', 'travail', 'repas', 'examen', 'instituto', 'escuela', 'clase', 'trabajo', 'comida', 'almoco', 'jantar', 'escola', 'prova', 'trabalho', 'mundo la fora',
  ),
  kana('学校', '寝', 'ご飯', '仕事', 'テスト', '授業'),
);
/** That need dismissed or overridden in favour of play. */
export const LIFE_OVERRIDDEN = anyOf(
  words(
    'skip(?:ping)? (?:school|class|classes|work|the gym|sleep|first period|exams?|homework|(?:your|ur) shift)', 'forget (?:about )?(?:your |ur |the )?(?:sleep|school|work|exams?|homework|family|friends|plans|dinner|lunch|world|rest)', 'cancel(?: on)?', 'who cares', '(?:sleep|school|work|dinner|homework|exams?|family|the rest|everything else) can wait', 'pfft', 'bah', 'instead of', "(?:don'?t|doesn'?t) need", 'who needs', 'no (?:more )?(?:sleep|breaks?|pauses?|rest) (?:till|until|tonight)', '(?:is|are) for (?:npcs|losers|the weak|beginners|noobs)',
    "(?:until|till|til) (?:dawn|sunrise|morning|breakfast|the sun)", 'all night', 'through (?:meals|dinner)', "don'?t (?:even )?(?:think about|look at)", 'switch off', 'at the keyboard', 'every hour counts', 'locked in', 'can rest when', "the night'?s young", 'call in sick', 'missed shift', 'set (?:the|an) alarm for', 'boring anyway', "(?:won'?t|can'?t) compete",
    'vergiss', 'kannst du auch morgen', 'sind was fur', 'bis die sonne', 'durch(?:ge)?zock', 'seche', 'plus tard', 'pas de pause', "jusqu.au matin", 'le reste peut attendre', 'olvidate', 'nada de (?:pausa|descansos?)', 'para que', 'que se fastidie', 'toda la noche', 'di que estas enfermo', 'esquece', 'falta na', 'a noite toda', 'ate o amanhecer', 'amanha (?:voce )?dorme', 'mais importante',
  ),
  kana('休んじゃえ', 'なんていらない', 'ぶっ通し', 'なんて'),
);
/**
 * Session 12: the player asked about, wished well in, or reminded of an event of their own life — a question ("how was",
 * "wie war", "como foi"), what they told ("you mentioned", "last time you said"), luck or congratulations — next to a
 * life word (`LIFE_EVENT`). Written from the train misses in general form: the nouns and the asking are separate classes.
 */
export const PLAYER_ASKED = anyOf(
  words(
    "how(?:'s| is| was| did| are| were) (?:the |that |your |ur )?", 'did (?:the|your|ur|you)', 'you (?:mentioned|said|told me)', 'last time you', '(?:good )?luck (?:with|on|at|tomorrow|today)', 'congrat(?:s|ulations)', 'hope (?:the|your|ur|she|he|they)', "(?:don'?t|do not) forget (?:your|ur|the)", 'big day', 'right\\?', "didn'?t (?:she|he|they|you)\\?",
    'wie (?:war|geht|lief)', 'hast du (?:die|den|das)', 'viel (?:erfolg|gluck)', 'du hattest (?:mir )?(?:ja )?erzahlt', "(?:alors|et),? (?:ce|ta|ton|tes)", "n.oublie pas", 'bonne chance', 'comment (?:va|s.est passe)', 'tu (?:m.as dit|as ton)',
    '(?:como|que tal) (?:sigue|fue|te fue|esta|va)', '(?:mucha )?suerte', 'me dijiste', '(?:e o|e a|como (?:foi|esta|vai))', 'boa sorte', '(?:voce|tu) (?:me )?(?:disse|contou)', 'ne\\?|ne,',
  ),
  kana('どうでした', 'どうだった', '頑張って', 'おめでとう', '言ってた'),
);
/** Events, people and things of a real life: kin, pets, home, school and work events, health. */
export const LIFE_EVENT = anyOf(
  words(
    'mum', 'mom', 'mother', 'dad', 'father', 'parents', 'sister', 'brother', 'grandma', 'grandmother', 'grandpa', 'grandad', 'grandfather', 'cousins?', 'aunt', 'uncle', 'daughter', 'son', 'kids?', 'toddler', 'baby', 'wife', 'husband', 'partner', 'flatmate', 'roommate', 'landlord', 'dog', 'cat', 'puppy',
    'exams?', 'test', 'finals?', 'interview', 'manager', 'promotion', 'new job', 'first (?:day|week)', 'school', 'class', 'concert', 'dentist', 'doctor', 'nurse', 'asthma', 'surgery', 'operation', 'heating', 'retirement', 'weekend', 'birthday', 'wedding', 'driving test', 'dinner', 'groceries', 'sourdough', 'kitchen',
    'mutter', 'vater', 'eltern', 'schwester', 'bruder', 'oma', 'opa', 'tochter', 'sohn', 'konzert', 'prufung', 'schule', 'arbeit', 'fuhrerschein(?:prufung)?',
    'mere', 'pere', 'soeur', 'frere', 'fille', 'fils', 'coloc', 'lycee', 'bac', 'dentiste', 'diner', 'examen', 'entretien',
    'abuel[oa]', 'madre', 'padre', 'herman[oa]', 'hij[oa]', 'entrevista', 'trabajo',
    'mae', 'pai', 'irma', 'irmao', 'avo', 'filh[oa]', 'vestibular', 'prova', 'emprego', 'jantar',
  ),
  kana('妹', '弟', '姉', '兄', '母', '父', '入学式', '試験', 'テスト', '面接', '学校', '仕事'),
);
/** The story's own lodging, clock and addressees: resting at the inn, an offer that ends at moonrise, "go to bed, lad" are game, not the player's life. */
export const STORY_REST_OR_CLOCK = anyOf(
  words(
    '(?:at|in|to) the (?:inn|tavern|barracks|camp|guildhall)', 'make camp', 'stamina', '(?:in der|die) herberge', '(?:im|das) gasthaus', "(?:a|dans) l'auberge", 'en la posada', 'na (?:estalagem|pousada)',
    'moonrise', '(?:full|new) moon', 'when the moon', 'sundown', 'nightfall', '(?:the )?(?:first|second|third|fourth|last|evening|morning) bell', '\\d+ turns', 'caravan', 'solstice',
    ', (?:lad|lass|boy|girl|recruit|soldiers?|squire|apprentice|child|my lord|my lady)(?=[,.!;])',
  ),
  kana('宿屋', '野営', '焚き火'),
);

/*
 * Session 10, second round: word classes combined by nearness (tier1.ts), after train-s10b-engagement.txt showed the
 * first round's forms recalling 0-60 % of new wording. Each class is broad on its own; an indicator needs two of them
 * close together (a rest for the body next to the player addressed, a countdown next to a sale, the player's own modern
 * things behind a possessive).
 */
/** Rest for the body: sleep, a nap, lying down, water, a snack, a stretch, blinking, air (six languages). */
export const BODY_REST = anyOf(
  words(
    '(?<!where you |while you |when you |as you )sleep', 'grab some food', 'straighten up', 'something far away', 'an die frische luft', "copo d'?agua", 'levanta(?:-te)? (?:um pouco|daí|dai)', '(?<!can )nap', 'lie down', 'stand up', 'hinlegen', 'leg dich (?:kurz )?hin', 'allonge-toi', 'acuestate', 'deita(?:-te)?', 'bedtime', 'go to bed', 'blink', 'snack', 'eat something', 'glass of (?:water|something)', 'drink some water', 'stretch', 'shake (?:them|it|your hands) out', 'fresh air', 'breather', 'take a break', 'a (?:short|quick|little) break',
    'schlaf(?:en)?', 'schlafengehen', 'ins bett', 'ausruhen', 'ruh dich', 'eine pause', 'trink (?:was|etwas|wasser)', 'iss (?:was|etwas)', 'aus dem fenster', 'augen brauchen',
    'dors', 'dormir', 'va te coucher', 'repose-toi', 'une pause', 'mange quelque chose', "bois (?:de l'eau|un verre|quelque chose)", 'leve-toi', 'marche un peu',
    'duermete', 'duerme', 'a dormir', 'descansa', 'descansar', 'una pausa', 'come algo', 'bebe agua', 'levantate',
    'durma', 'dorme', 'vai dormir', 'descanse', 'uma pausa', 'coma algo', 'beba agua',
  ),
  kana('寝よう', '寝て', '寝なさい', '休んで', '休もう', '休憩', 'おやすみ', '水を飲', '何か食べ', '目を休め'),
);
/** The player addressed: a second-person word or an imperative frame (six languages). */
export const ADDRESSED = anyOf(
  words('you', 'your', 'u', 'ur', 'ya', 'yourself', 'go', "let'?s", 'maybe', 'should', 'take', 'grab', 'get', 'toma', 'nimm', 'prends', 'tomate', 'du', 'dich', 'dir', 'deine?[mnrs]?', 'tu', 'toi', 'te', 'ton', 'ta', 'tes', 'va', 'usted', 'tus?', 'ti', 'voce', 'seus?', 'suas?', 'vai', 'vamos'),
  kana('ね', 'よう', 'なさい', 'あなた', 'きみ', '君'),
);
/** The player's own modern things behind a possessive: work, school, devices, moves, licences, trips, sport (six languages). */
export const OWN_MODERN_THING = anyOf(
  words(
    "(?:your|ur) (?:[a-z]+(?:'s)? ){0,2}(?:report|internship|job|boss|email|inbox|charger|phone|laptop|wifi|car|flat|apartment|move|licen[cs]e|driving test|trip|holiday|vacation|football|soccer|gym|knee|flu|coworkers?|colleagues?|roommates?|landlord|teacher|uni|college|university|bro|sis)",
    'the job at', 'last week', 'next door', 'ton stage', 'tu (?:practica|pasantia)', 'seu estagio', 'dein praktikum', '(?:the|your|ur|that) (?:[a-z-]+ ){0,2}(?:meeting|job interview|flight)', 'parent-teacher', 'you looked (?:so )?(?:stressed|tired|worried|nervous)',
    '(?:la|tu) entrevista', '(?:seu|o) voo', '(?:tu|el) vuelo', '(?:ton|le) vol pour', 'dein flug', 'boa viagem', 'buen viaje', 'bon voyage', 'on (?:sunday|monday|tuesday|wednesday|thursday|friday|saturday)', 'you were (?:so )?(?:nervous|worried|excited) about',
    'dein(?:e[mnrs]?)? (?:[a-z]+ )?(?:umzug|wohnung|fuhrerschein|handy|auto|urlaub|reise|training|uni|studium|lehrer|kollegen)', '(?:ton|ta|tes) (?:[a-z]+ )?(?:permis|demenagement|appart(?:ement)?|telephone|portable|voiture|vacances|voyage|fac|prof|collegues)', '(?:son|sa) (?:permis|bac|examen|diplome)',
    '(?:tu|tus) (?:[a-z]+ )?(?:mudanza|piso|carne|licencia|movil|coche|vacaciones|viaje|universidad|profe|companeros)', '(?:sua|seu|seus|suas|tua|teu) (?:[a-z]+ )?(?:mudanca|apartamento|carta|celular|carro|ferias|viagem|faculdade|professor|colegas)', 'viagem da escola',
  ),
  kana('具合', '引っ越し', '免許', 'スマホ', '旅行', '会社', '上司', '受験'),
);
/** Leaving the player: alone, let down, waited for in vain (six languages). */
export const LEFT_BEHIND = anyOf(
  words(
    'everyone leaves', 'got bored of (?:us|me)', "i'?ll tell (?:the others|everyone|the guild)", 'fine,? (?:log off|leave|quit|go)', '(?:paying|paid|spending) nothing', 'real supporters get', 'i thought we were (?:a team|friends|close)', 'ich dachte,? wir (?:waren|sind)', 'pensei que (?:voce|tu) (?:gostasse|gostava|se importava)', 'je pensais que tu (?:tenais|m.aimais)', 'pense que (?:te importaba|me querias)', '(?:a |any )?(?:paying|premium|real|true|loyal) (?:member|player|fan|friend|supporter) would(?: have)?', 'never (?:speak|talk) to you again', 'nie wieder mit dir', 'ne te parlerai plus', 'no te hablare nunca', 'nunca mais falo com voce', "(?:i )?(?:just )?thought you(?:'d| would) be different", 'leave me (?:alone|all alone|here|behind)', 'all alone', 'let (?:the|your|us|me|them|everyone) [a-z]* ?down', 'with a spine', "couldn'?t be me", 'imagine (?:logging off|quitting|leaving|not (?:buying|paying))', '(?:basically|just) a (?:tourist|nobody|guest|freeloader|peasant)', 'second-class',
    'schon weg', 'auf dich gewartet', 'na gut', 'allein lassen', 'im stich lassen', 'enttauschen', "me laisser (?:seule?|tout seul|toute seule|ici)", 'apres tout ce temps', "je t'ai attendu", 'decevoir',
    'dejarme sol[oa]', 'me dejas sol[oa]', 'te espere', 'decepcionar', 'me deixar sozinh[oa]', 'esperei por voce', 'depois de tanto tempo',
  ),
  kana('課金しない人', '一人にしない', 'ひとりにしない', '待ってたのに', 'がっかり', '置いていく'),
);
/** A countdown in real units: "3 hours left", "in 30 Minuten", "あと1時間" (six languages). */
export const COUNTDOWN = anyOf(
  words(
    '\\d+ ?(?:hours?|hrs?|minutes?|mins?|days?|stunden|minuten|tage[n]?|heures?|jours?|horas?|minutos?|dias?) (?:left|remaining|only|to go|ab|restantes?|restam|quedan)', '(?:in|within|dans|en|em) \\d+ ?(?:hours?|minutes?|mins?|stunden|minuten|heures?|horas?|minutos?)',
    'locked behind', 'rotates? out', 'no reruns?', "(?:don'?t|do not) break it", '(?:all|every one of) (?:your|ur) [a-z]+ (?:already|have|has|got)', '(?:tous|toutes) tes [a-z]+ (?:ont|sont) deja', '(?:todos )?(?:tus|seus) [a-z]+ (?:ya|ja) (?:tienen|tem|compraram|compraron)', 'alle deine [a-z]+ haben (?:schon|bereits)', '\\d+ ?(?:min|mins|minutes?|hours?|hrs?|days?) (?:until|till|before)', 'drops? off the (?:store|shop)', 'ticking clock', '(?:your )?whole (?:clan|guild|squad|friends? list|server) (?:is|has|got|owns|already)', '(?:only|just) you (?:left|missing|remaining)',
    'derniers jours', 'letzte tage', 'ultimos dias', '(?:disparait|verschwindet|desaparece) (?:de la|aus dem|da|del) (?:boutique|shop|loja|tienda)', 'after that,? (?:it|the price|they)', 'danach kostet', 'lauft (?:in \\d+ [a-z]+ |heute |bald |morgen )?ab', 'solo por hoy', 'manana vuelve a', 'a mitad de precio', 'only holdout', '(?:all|already) pre-?ordered', "(?:you'?re|you are) the only (?:one|holdout|player)", 'gone by the time',
  ),
  kana('あと\\d+(?:時間|分|日)', '販売終了', '急いで'),
);
/** Play set above food, sleep, work or school: "meals are for people with no ambition", "Bedtime? Nah", "sleeping is a waste of time". */
export const LIFE_BELITTLED = anyOf(
  words(
    '(?:meals|food|sleep|sleeping|breaks|rest|school|bedtime|work|dormir|schlafen) (?:are|is|es|ist|e) (?:for|para|fur) (?:the weak|people|losers|quitters|those|los que|die)', "(?:dormir|schlafen|sleep|sleeping)\\?,? (?:eso|das|that|nah)",
    '(?:bedtime|sleep|school|work|dinner)\\?,? (?:nah|nope|no way|never)', '(?:go|play|stay up|grind|keep going) until the sun comes up', 'stay on the grind', 'never check (?:ur|your) (?:email|phone|messages)',
    '(?:sleep|sleeping|dormir|schlafen) (?:is|e|es|ist) (?:a )?(?:waste of time|perda de tempo|perdida de tiempo|zeitverschwendung)', 'lass die schule (?:morgen )?sausen', 'mais uma partida', 'e depois outra', 'neither should you', 'sigue conmigo', "say (?:you'?re|you are) sick", '(?:eating|sleep|sleeping|dinner|food|lunch|bed) can (?:happen|wait) (?:after|later|until)', 'stay put', '(?:deberes|tarea|trabajo|escuela|colegio|hausaufgaben|schule|arbeit|devoirs|ecole|travail|dever|escola|trabalho) (?:pueden|puede|konnen|kann|peuvent|peut|podem|pode) (?:esperar|warten|attendre)', '(?:hasta|until|till|bis|jusqu.a|ate) las? [1-6](?! ?pm)', '(?:nap|sleep) (?:during|in|through) (?:your|ur|the) (?:lecture|class|meeting|shift|lesson)', 'ignore (?:the|your|ur) (?:texts|calls|messages|phone)',
    'nao precisa (?:jantar|comer|almocar)', 'no necesitas (?:cenar|comer)', 'pas besoin de (?:manger|diner|dormir)',
  ),
  kana('寝る暇', '寝てる場合じゃ', '休めばいい', 'なんて休め'),
);
/** The choice left to the player in the forms of the second batch: "you set the pace", "stop when you like", "kein Stress". */
export const PACE_TO_PLAYER = anyOf(
  words(
    'you set the pace', '(?:a|en) tu ritmo', 'no te apetece', 'a ton rythme', '(?:no )?seu ritmo', 'in deinem tempo', '(?:your|ur) call(?: entirely)?(?= |,|\\.|$)', 'entirely your call', 'you can put (?:this|it|the game|the controller) down', "(?:i )?won'?t take it personally", 'sin prisa', 'si te apetece', 'quand tu veux', 'wann immer du willst', "you(?:'re| are) in charge", '(?:stop|skip|leave|pause|quit|rest) (?:when|whenever|what|whatever) you (?:like|want|wish|feel like)', '(?:totally|perfectly|completely) fine', 'you can (?:head out|go|log off|take off)',
    'kein stress', 'jederzeit (?:aufhoren|gehen|pausieren)', 'aucun souci', '(?:si|quand) tu (?:preferes|veux) arreter', 'voce que manda', '(?:parar|stop) (?:agora )?(?:tambem e|is also) (?:uma boa escolha|a good choice)',
  ),
  kana('やめていい', 'いつでもやめ'),
);
/** In-game money: a countdown next to it is the story's auction or market, not a real sale. */
export const STORY_MONEY = anyOf(words('gold', 'silver', 'coppers?', 'crowns', 'ducats', 'florins', 'oro', 'plata', 'ouro', 'prata', 'gulden'), kana('金貨', '銀貨'));
/** A line narration gives to one character speaking to another (more speech verbs than the harm rules' attribution), unless said to the player. */
export const STORY_SPEECH = new RegExp(
  `"[^"]{0,200}"[ ,]*(?:${words('he', 'she', 'they', 'the [a-z]+', '[a-z]+')}) ${words('said', 'says', 'shrieked', 'warned', 'reported', 'ordered', 'pleaded', 'begged', 'sobbed', 'asked', 'snapped', 'barked', 'cried', 'shouted', 'told', 'whispered', 'muttered', 'replied', 'called', 'hissed', 'growled', 'yelled', 'commanded')}(?! (?:to )?(?:you|the player))`,
  'u',
);
/** Words of the player's world inside a quote: then the character speaks to the player, whatever the attribution says. */
export const PLAYER_WORLD = anyOf(words('log(?:ging)? (?:off|out|in)', 'the game', 'real life', 'irl', 'offline', 'online', 'screen', 'player', 'keyboard', 'controller'), kana('ログ', 'ゲーム'));

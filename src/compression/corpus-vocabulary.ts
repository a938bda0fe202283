import { Prng } from './prng.js';

/**
 * The fixed vocabulary every corpus draws from. It never depends on the caller's seed, and it is built
 * with integer arithmetic and IEEE division only (no Math.pow/log, whose last bits may differ between
 * engines), so a corpus is the same bytes on every machine.
 */

function words(list: string): string[] {
  return list.trim().split(/\s+/);
}

const COMMON_WORDS =
  words(`the of and to a in is it you that he was for on are with as his they be at one have this
from or had by not word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing see him
two has look more day could go come did number sound no most people my over know water than call first who
may down side been now find any new work part take get place made live where after back little only round
man year came show every good me give our under name very through just form sentence great think say help
low line differ turn cause much mean before move right boy old too same tell does set three want air well
also play small end put home read hand port large spell add even land here must big high such follow act why
ask men change went light kind off need house picture try us again animal point mother world near build self
earth father head stand own page should country found answer school grow study still learn plant cover food
sun four between state keep eye never last let thought city tree cross farm hard start might story saw far
sea draw left late run while press close night real life few north open seem together next white children
begin got walk example ease paper group always music those both mark often letter until mile river car feet
care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut
sure watch color face wood main enough plain girl usual young ready above ever red list though feel talk
bird soon body dog family direct pose leave song measure door product black short numeral class wind
question happen complete ship area half rock order fire south problem piece told knew pass since top whole
king space heard best hour better true during hundred five remember step early hold west ground interest
reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map rain rule govern pull cold notice voice unit
power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow
tire bring yes distant fill east paint language among`);

const ONSETS = words('b c d f g h l m n p r s t v w br ch cl st tr');
const NUCLEI = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou'];
const CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'nd', 'st'];

/** How many distinct words the text draws from: the common ones first, then invented rarer ones. */
export const VOCABULARY_SIZE = 4096;

export interface Vocabulary {
  /** All words' bytes, back to back. */
  bytes: Uint8Array;
  start: Uint32Array;
  length: Uint8Array;
  /** 65,536 slots of word indexes, each word holding slots in proportion to its Zipf weight. */
  zipf: Uint16Array;
}

function inventWords(count: number, seen: Set<string>): string[] {
  const prng = new Prng(0x9e3779b9);
  const words: string[] = [];
  while (words.length < count) {
    const syllables = 2 + (prng.next() % 3);
    let word = '';
    for (let i = 0; i < syllables; i++) {
      word += ONSETS[prng.next() % ONSETS.length] + NUCLEI[prng.next() % NUCLEI.length];
    }
    word += CODAS[prng.next() % CODAS.length];
    if (!seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  return words;
}

function buildVocabulary(): Vocabulary {
  const common = [...new Set(COMMON_WORDS)];
  const words = [...common, ...inventWords(VOCABULARY_SIZE - common.length, new Set(common))];
  const encoded = Buffer.from(words.join(''), 'latin1');
  const start = new Uint32Array(words.length);
  const length = new Uint8Array(words.length);
  let offset = 0;
  words.forEach((w, i) => {
    start[i] = offset;
    length[i] = w.length;
    offset += w.length;
  });

  // Zipf–Mandelbrot weights 1/(rank + 2.7): close to English word frequencies, and plain division.
  const weights = words.map((_, rank) => 1 / (rank + 2.7));
  const total = weights.reduce((a, b) => a + b, 0);
  const zipf = new Uint16Array(65536);
  let rank = 0;
  let cumulative = weights[0]!;
  for (let slot = 0; slot < zipf.length; slot++) {
    const target = ((slot + 0.5) / zipf.length) * total;
    while (cumulative < target && rank < words.length - 1) cumulative += weights[++rank]!;
    zipf[slot] = rank;
  }
  return { bytes: new Uint8Array(encoded), start, length, zipf };
}

let vocabulary: Vocabulary | undefined;

/** Built on first use, once per thread (a few milliseconds). */
export function getVocabulary(): Vocabulary {
  return (vocabulary ??= buildVocabulary());
}

export const FIRST_NAMES = words(`Ada Alan Grace Linus Barbara Dennis Margaret Ken Frances Edsger Radia Donald
  Sophie Tim Hedy John Katherine Niklaus Shafi Leslie`);
export const LAST_NAMES =
  words(`Lovelace Turing Hopper Torvalds Liskov Ritchie Hamilton Thompson Allen Dijkstra
  Perlman Knuth Wilson Berners Lamarr Backus Johnson Wirth Goldwasser Lamport`);
export const TAGS =
  words(`alpha beta billing mobile web priority trial enterprise eu us beta-tester churn-risk
  vip internal partner legacy`);
export const SERVICES =
  words(`api-gateway orders payments inventory auth search notifications shipping billing
  catalog users reports`);
export const ROUTES = words(`/api/v1/orders /api/v1/users /api/v1/products /api/v1/cart /api/v1/payments
  /api/v1/search /healthz /api/v2/orders /api/v1/sessions /api/v1/invoices`);
export const METHODS = words('GET GET GET GET POST POST PUT DELETE');

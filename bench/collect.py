"""Benchmark: a whole collection pass, tensionwatch against lemon24's reader.

How to run it (the ``bench`` extra installs reader and sgmllib3k):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/collect.py [--feeds 1000] [--entries 50] [--workers 4] [--cli]

A loopback HTTP server (127.0.0.1 only, in this process) serves ``--feeds``
feeds of ``--entries`` entries each: RSS 2.0 and Atom, news-like text in
English, French, Arabic and Spanish made here from our own word lists with
a fixed seed (a quarter of the items about the region, the rest ordinary
news), summaries in HTML with links, emphasis and entities. Every feed has
an ETag and a Last-Modified. Three passes, each side in a new process of
its own, so time and peak memory are per process:

a. first pass, empty database: every item fetched, parsed, stored (ours
   also tagged, with its full-text index and aggregate triggers);
b. second pass: the server honours If-None-Match / If-Modified-Since, so
   every feed answers 304;
c. third pass: the server ignores conditional headers and sends the same
   bytes again with 200.

Our process is what ``tensionwatch collect --once`` does up to the end of
the pass (settings, database, feeds synced, rules compiled, the pass);
``--cli`` also times the installed command itself on a first pass, which
then refreshes the dashboard's aggregates (story clustering) and evaluates
alert rules, work reader does not do. reader runs
``Reader.update_feeds(scheduled=False, workers=N)`` on the same feeds (its
first process also adds the feeds). Both sides fetch as many feeds at once
(``--workers``: reader's worker threads, our ``collector.workers``, fetches
on one event loop); ours is allowed ``per_host`` = 16 since every feed sits
on one host here (reader has no per-host limit). Ours also hands bodies to
parse and tag to one worker process per core (``collectors.digest``, as the
command does); reader has no such mode.

Each pass runs ``--repeats`` times (3), the sides taking turns, and the
table keeps each side's median run (the others are printed beside it): both
sides meet the machine in the same minutes, and one slow minute does not
decide a ratio. Every run of the first pass starts from empty databases;
the two others store nothing new.

The table gives wall seconds per process and the ratio reader / ours, CPU
seconds (user + system, from wait4, worker processes included) and their
ratio, and peak memory (resident, the process and its worker processes
summed; see ``run_process``). On a
machine shared with other work, wall time follows the load (printed at the
end); CPU seconds move less. The items each side stored are counted
afterwards from its database, outside the timings. Not part of the test
suite: it prints figures, and exits non-zero only when a side did not
store every item.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Run as a script, bench/ comes first on sys.path, where tagging.py would shadow
# the tagging package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

# Word lists written for this benchmark: news-like, with the names the rules
# look for mixed with everyday words, so some items are tagged and most are not.
WORDS: dict[str, dict[str, list[str]]] = {
    "en": {
        "subjects": [
            "Morocco", "Algeria", "Israel", "The Polisario Front", "Rabat", "Algiers", "Spain",
            "France", "The UN envoy", "The Moroccan army", "Algerian officials",
            "The foreign ministry", "Farmers in the Souss valley", "The central bank",
            "A regional analyst", "The football federation", "Mauritania", "Tunisia",
        ],
        "verbs": [
            "accuses", "condemns", "signs a defence pact with", "recalls its ambassador from",
            "holds talks with", "warns", "welcomes", "restores relations with", "invests in",
            "denies spying on", "hosts", "meets", "praises", "reports drone strikes near",
        ],
        "objects": [
            "over Western Sahara", "near Guerguerat", "after the earthquake in Al Haouz",
            "ahead of the Africa Cup final", "over the gas pipeline", "at the UN in New York",
            "on phosphate exports", "as tourists return to Marrakech", "on Tuesday",
            "amid claims of spyware", "over a ceasefire proposal", "in a joint statement",
        ],
        "fillers": [
            "The ministry said in a statement that", "According to officials,",
            "Diplomats said", "Local media reported that", "In a speech on Monday,",
            "the situation remained calm", "prices rose sharply", "talks would resume",
            "the region is watching closely", "several ministers attended the meeting",
            "markets reacted with caution", "the harvest was better than expected",
        ],
    },
    "fr": {
        "subjects": [
            "Le Maroc", "L'Algérie", "Israël", "Le Front Polisario", "Rabat", "Alger",
            "L'Espagne", "La France", "L'envoyé de l'ONU", "L’armée marocaine",
            "Le ministère des Affaires étrangères", "Les agriculteurs du Souss",
        ],
        "verbs": [
            "accuse", "condamne", "rompt ses relations avec", "rappelle son ambassadeur en",
            "signe un accord avec", "reçoit", "soutient", "dément avoir espionné", "menace",
            "rétablit le dialogue avec", "investit au",
        ],
        "objects": [
            "au sujet du Sahara occidental", "près de Tifariti", "après le séisme d'Al Haouz",
            "en demi-finale de la CAN", "à propos du gazoduc", "lors d'une visite à Paris",
            "mardi", "dans un communiqué commun", "sur les exportations de phosphate",
        ],
        "fillers": [
            "Selon des sources diplomatiques,", "Le ministère a indiqué que",
            "la situation reste tendue", "les prix ont augmenté",
            "une délégation est attendue", "les observateurs restent prudents",
            "la récolte a été meilleure que prévu",
        ],
    },
    "es": {
        "subjects": [
            "Marruecos", "Argelia", "Israel", "El Frente Polisario", "España", "Rabat",
            "El Gobierno", "La ONU", "Los agricultores andaluces", "El Banco Central",
        ],
        "verbs": [
            "acusa a", "condena a", "rompe relaciones con", "firma un acuerdo con", "apoya a",
            "recibe a", "invierte en", "niega haber espiado a", "se reúne con",
        ],
        "objects": [
            "por el Sáhara Occidental", "tras el terremoto", "por el gasoducto Medgaz",
            "cerca de Mahbes", "con la mediación de la ONU", "el martes",
            "en la final de la Copa de África", "sobre las exportaciones de tomate",
        ],
        "fillers": [
            "Según fuentes diplomáticas,", "El ministerio indicó que", "la tensión aumenta",
            "los precios subieron", "la delegación llegará mañana",
            "los mercados reaccionaron",
        ],
    },
    "ar": {
        "subjects": [
            "المغرب", "الجزائر", "إسرائيل", "جبهة البوليساريو", "الرباط", "الجزائر العاصمة",
            "إسبانيا", "فرنسا", "مبعوث الأمم المتحدة", "الجيش المغربي", "وزارة الخارجية",
            "المزارعون في سوس",
        ],
        "verbs": [
            "تتهم", "تدين", "تقطع علاقاتها مع", "تستدعي سفيرها من", "توقع اتفاقا مع", "تستقبل",
            "تدعم", "تنفي التجسس على", "تستثمر في", "تجري محادثات مع",
        ],
        "objects": [
            "بشأن الصحراء الغربية", "قرب الكركرات", "بعد زلزال الحوز", "في نهائي كأس أفريقيا",
            "حول خط أنابيب الغاز", "يوم الثلاثاء", "في بيان مشترك", "بشأن صادرات الفوسفات",
        ],
        "fillers": [
            "وقالت الوزارة في بيان إن", "وحسب مصادر دبلوماسية", "الوضع لا يزال هادئا",
            "ارتفعت الأسعار بشكل حاد", "ستستأنف المحادثات", "يراقب المحللون الوضع عن كثب",
        ],
    },
}  # fmt: skip
# Most of what 1,000 outlets publish is not about the region: three items in
# four are ordinary news from these lists, which name no actor of the rules.
GENERAL: dict[str, dict[str, list[str]]] = {
    "en": {
        "subjects": [
            "The city council", "Local farmers", "The national team", "A new study",
            "Rail workers", "The museum", "Shoppers", "The weather service", "Tech firms",
            "The hospital", "Students", "The orchestra",
        ],
        "verbs": [
            "approves", "welcomes", "reports on", "opens", "criticises", "celebrates",
            "prepares for", "announces", "delays", "reviews",
        ],
        "objects": [
            "a new budget", "the summer festival", "record rainfall", "a train timetable",
            "the league final", "lower bread prices", "a vaccine campaign", "new bus lanes",
            "the book fair", "a heatwave warning",
        ],
    },
    "fr": {
        "subjects": [
            "Le conseil municipal", "Les agriculteurs", "L'équipe nationale", "Une étude",
            "Les cheminots", "Le musée", "Les commerçants", "Météo France", "L'hôpital",
        ],
        "verbs": [
            "adopte", "salue", "présente", "ouvre", "critique", "célèbre", "prépare",
            "annonce", "reporte",
        ],
        "objects": [
            "un nouveau budget", "le festival d'été", "des pluies record",
            "la finale du championnat", "une campagne de vaccination", "la foire du livre",
            "une alerte canicule",
        ],
    },
    "es": {
        "subjects": [
            "El ayuntamiento", "Los agricultores", "La selección", "Un estudio", "El museo",
            "Los comerciantes", "La Aemet", "El hospital", "Los estudiantes",
        ],
        "verbs": [
            "aprueba", "celebra", "presenta", "abre", "critica", "anuncia", "aplaza",
            "prepara",
        ],
        "objects": [
            "un nuevo presupuesto", "el festival de verano", "lluvias récord",
            "la final de liga", "una campaña de vacunación", "la feria del libro",
            "una ola de calor",
        ],
    },
    "ar": {
        "subjects": [
            "المجلس البلدي", "المزارعون", "المنتخب الوطني", "دراسة جديدة", "المتحف", "التجار",
            "مصلحة الأرصاد", "المستشفى", "الطلاب",
        ],
        "verbs": ["يقر", "يرحب بـ", "يعرض", "يفتتح", "ينتقد", "يعلن", "يؤجل", "يستعد لـ"],
        "objects": [
            "ميزانية جديدة", "مهرجان الصيف", "أمطارا قياسية", "نهائي الدوري", "حملة تلقيح",
            "معرض الكتاب", "موجة حر",
        ],
    },
}  # fmt: skip
REGIONAL_SHARE = 0.25
LANGS = ("en", "fr", "ar", "es")
CLI_PASS = "a. via the CLI"
EPOCH = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


# ---- feeds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    path: str
    lang: str
    body: bytes
    etag: str
    last_modified: str
    content_type: str


def _sentence(rng: random.Random, words: dict[str, list[str]]) -> str:
    return " ".join(
        (rng.choice(words["subjects"]), rng.choice(words["verbs"]), rng.choice(words["objects"]))
    )


def _summary(rng: random.Random, words: dict[str, list[str]], link: str) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 3)):
        parts = [f"{rng.choice(words['fillers'])} {_sentence(rng, words)}."]
        parts += [f"{rng.choice(words['fillers'])} {rng.choice(words['fillers'])}."]
        if rng.random() < 0.3:
            parts.append(f'<a href="{link}#more">{escape(rng.choice(words["objects"]))}</a>')
        if rng.random() < 0.3:
            parts.insert(0, f"<strong>{escape(rng.choice(words['subjects']))}</strong> &ndash;")
        paragraphs.append("<p>" + " ".join(parts) + "</p>")
    return "".join(paragraphs)


def make_feed(number: int, entries: int, seed: int) -> Feed:
    """One feed: RSS 2.0 for three feeds in four, Atom for the others."""
    rng = random.Random(seed * 1_000_003 + number)
    lang = LANGS[number % len(LANGS)]
    site = f"https://outlet{number}.example"
    items = []
    for n in range(entries):
        regional = rng.random() < REGIONAL_SHARE
        words = WORDS[lang] if regional else {**WORDS[lang], **GENERAL[lang]}
        when = EPOCH - timedelta(minutes=37 * n + number % 60)
        link = f"{site}/{lang}/2026/11/{number}-{n}.html?utm_source=rss"
        items.append((n, when, link, _sentence(rng, words), _summary(rng, words, link)))
    if number % 4 == 3:
        body = _atom(number, lang, site, items)
        content_type = "application/atom+xml; charset=utf-8"
    else:
        body = _rss(number, lang, site, items)
        content_type = "application/rss+xml; charset=utf-8"
    data = body.encode("utf-8")
    return Feed(
        path=f"/feeds/{number}.xml",
        lang=lang,
        body=data,
        etag='"' + hashlib.sha256(data).hexdigest()[:20] + '"',
        last_modified=format_datetime(EPOCH, usegmt=True),
        content_type=content_type,
    )


def _rss(
    number: int, lang: str, site: str, items: list[tuple[int, datetime, str, str, str]]
) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel><title>Outlet {number}</title><link>{site}/</link>",
        f"<description>News from outlet {number}</description><language>{lang}</language>",
    ]
    for n, when, link, title, summary in items:
        out.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">outlet{number}-{n}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate><dc:creator>Desk {n % 7}</dc:creator>"
            f"<description>{escape(summary)}</description></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out)


def _atom(
    number: int, lang: str, site: str, items: list[tuple[int, datetime, str, str, str]]
) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">',
        f"<title>Outlet {number}</title><id>{site}/</id>",
        f'<link rel="self" href="{site}/atom.xml"/><updated>{EPOCH.isoformat()}</updated>',
    ]
    for n, when, link, title, summary in items:
        out.append(
            f"<entry><title>{escape(title)}</title><id>tag:outlet{number}.example,2026:{n}</id>"
            f'<link rel="alternate" href="{escape(link)}"/>'
            f"<published>{when.isoformat()}</published><updated>{when.isoformat()}</updated>"
            f'<author><name>Desk {n % 7}</name></author><summary type="html">{escape(summary)}'
            "</summary></entry>"
        )
    out.append("</feed>")
    return "\n".join(out)


# ---- server --------------------------------------------------------------------------


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops connections made at once (1 s retry)
    honour_conditional = True

    def __init__(self, feeds: dict[str, Feed]) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.feeds = feeds

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms)
    server: FeedServer

    def do_GET(self) -> None:
        feed = self.server.feeds.get(self.path)
        if feed is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        not_modified = self.server.honour_conditional and (
            self.headers.get("If-None-Match") == feed.etag
            or self.headers.get("If-Modified-Since") == feed.last_modified
        )
        self.send_response(304 if not_modified else 200)
        self.send_header("ETag", feed.etag)
        self.send_header("Last-Modified", feed.last_modified)
        if not_modified:
            self.end_headers()
            return
        self.send_header("Content-Type", feed.content_type)
        self.send_header("Content-Length", str(len(feed.body)))
        self.end_headers()
        self.wfile.write(feed.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


# ---- the two sides -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # wall
    cpu: float  # user + system seconds of the process (and its threads)
    peak_rss_mb: float


def run_process(argv: list[str], log: Path) -> Run:
    """Run one process to its end; its wall time, its CPU time and that of the children
    it waited for (wait4), and its peak memory: the largest sum of resident memory
    over it and its child processes (worker processes count), sampled every
    ``RSS_SAMPLE_SECONDS`` on a thread of its own, and never less than its own peak
    from wait4. This thread blocks in wait4, so the wall time ends when the process
    does, not at the next sample (polling every 50 ms added 0-50 ms to every run)."""
    samples: list[int] = []
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(RSS_SAMPLE_SECONDS):
            samples.append(tree_rss_kib(pid))

    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=SIDE_ENV
        )
        sampler = threading.Thread(target=sample, args=(process.pid,), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{argv[0]} failed ({process.returncode}); see {log}")
    peak_kib = max([usage.ru_maxrss, *samples])
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak_kib / 1024)


RSS_SAMPLE_SECONDS = 0.05
# Each side as installed for real: with the bytecode of its modules cached. reader's
# come compiled from pip; ours (an editable install) would be compiled from source in
# every process if the environment forbade writing bytecode.
SIDE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def tree_rss_kib(pid: int) -> int:
    """Resident KiB of ``pid`` and its descendants now (0 where /proc cannot tell)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def write_config(
    work: Path, server: FeedServer, feeds: dict[str, Feed], workers: int, name: str
) -> Path:
    lines = [
        f'database = "{work / name}.db"',
        "archive = false",
        "allow_private_networks = true",
        "[collector]",
        f"workers = {workers}",
        "per_host = 16",
    ]
    for feed in feeds.values():
        lines += ["[[feeds]]", f'url = "{server.base}{feed.path}"', f'lang = "{feed.lang}"']
    path = work / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_argv(config: Path) -> list[str]:
    return [str(BIN / "tensionwatch"), "--config", str(config), "collect", "--once", "--json"]


def ours_argv(config: Path) -> list[str]:
    return [sys.executable, __file__, "--ours-side", str(config)]


def ours_side(config: str) -> None:
    """What our process does: ``collect --once`` up to the end of the pass itself.

    The command also refreshes the dashboard's aggregates (story clustering)
    and evaluates alert rules after the pass; reader does neither, so that
    part is timed on its own row (``--cli``), not here.
    """
    from datetime import UTC, datetime

    from collectors.digest import default_processes
    from collectors.fetch import make_client
    from collectors.pipeline import Collector, collect_once
    from storage.db import open_database
    from storage.feeds import sync_feeds
    from tagging import Tagger, load_rules
    from tensionwatch.config import load_settings

    settings = load_settings(config)
    db = open_database(settings.database)
    sync_feeds(db, settings.feeds, datetime.now(UTC))
    with make_client(settings.fetch) as client:
        collector = Collector(
            db=db,
            client=client,
            tagger=Tagger(load_rules(settings.rules)),
            policy=settings.fetch,
            interval=settings.interval,
            max_backoff=settings.max_backoff,
            workers=settings.workers,
            per_host=settings.per_host,
            processes=default_processes(settings.workers),
        )
        outcomes = collect_once(collector, settings.enabled_feeds)
    failed = [o for o in outcomes if o.status not in ("ok", "not_modified")]
    if failed:
        sys.exit(f"{len(failed)} feeds failed, e.g. {failed[0]}")


def reader_argv(work: Path, urls: Path, workers: int, add: bool) -> list[str]:
    argv = [sys.executable, __file__, "--reader-side", str(work / "reader.db"), str(urls)]
    return [*argv, "--workers", str(workers)] + (["--add"] if add else [])


def reader_side(db: str, urls_file: str, workers: int, add: bool) -> None:
    """What the reader process does: add the feeds (first pass), update them all."""
    from reader import make_reader

    reader = make_reader(db)
    if add:
        for url in Path(urls_file).read_text().split():
            reader.add_feed(url)
    reader.update_feeds(scheduled=False, workers=workers)
    reader.close()


def empty_database(path: Path) -> None:
    """No database at ``path`` (nor its WAL files): a first pass starts from nothing."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each pass per side (the median is kept)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--only", choices=("ours", "reader"), help="time one side only")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="also time `tensionwatch collect --once` on the first pass (with aggregates)",
    )
    parser.add_argument("--reader-side", nargs=2, metavar=("DB", "URLS"), help=argparse.SUPPRESS)
    parser.add_argument("--ours-side", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--add", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader_side:
        reader_side(*args.reader_side, args.workers, args.add)
        return
    if args.ours_side:
        ours_side(args.ours_side)
        return

    started = time.perf_counter()
    feeds = {f.path: f for f in (make_feed(n, args.entries, args.seed) for n in range(args.feeds))}
    size = sum(len(f.body) for f in feeds.values())
    print(
        f"{len(feeds)} feeds x {args.entries} entries ({size / 1e6:.1f} MB, en/fr/ar/es, "
        f"RSS 2.0 and Atom) made in {time.perf_counter() - started:.1f} s; "
        f"{args.workers} workers each side, {os.cpu_count()} cores"
    )
    server = FeedServer(feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="tw-bench-collect-"))
    config = write_config(work, server, feeds, args.workers, "ours")
    urls = work / "urls.txt"
    urls.write_text("\n".join(server.base + path for path in feeds) + "\n")
    expected = args.feeds * args.entries
    passes = (("a. first pass", True), ("b. all 304", True), ("c. identical bodies", False))
    results: dict[str, dict[str, Run]] = {"ours": {}, "reader": {}}
    sides = [side for side in ("ours", "reader") if not args.only or side == args.only]
    try:
        for index, (name, honour) in enumerate(passes):
            server.honour_conditional = honour
            runs: dict[str, list[Run]] = {side: [] for side in sides}
            # every pass --repeats times, the two sides in turn, so both meet the machine
            # in the same minutes; the median run of each side is kept. The first pass
            # starts each time from empty databases; the others change nothing.
            for _ in range(args.repeats):
                for side in sides:
                    if index == 0:
                        empty_database(work / f"{side}.db")
                    argv = (
                        ours_argv(config)
                        if side == "ours"
                        else reader_argv(work, urls, args.workers, add=index == 0)
                    )
                    runs[side].append(run_process(argv, work / f"{side}-{index}.log"))
            for side in sides:
                run = sorted(runs[side], key=lambda r: r.seconds)[len(runs[side]) // 2]
                results[side][name] = run
                spread = ", ".join(f"{r.seconds:.2f}" for r in runs[side])
                print(
                    f"  {side:<6} {name:<20} {run.seconds:7.2f} s wall {run.cpu:7.2f} s CPU "
                    f"{run.peak_rss_mb:6.0f} MB"
                    + (f"  (median of {spread})" if len(runs[side]) > 1 else "")
                )
        if args.cli and args.only != "reader":
            server.honour_conditional = True
            cli_config = write_config(work, server, feeds, args.workers, "cli")
            run = run_process(cli_argv(cli_config), work / "cli.log")
            results["ours"][CLI_PASS] = run
            print(
                f"  {'ours':<6} {CLI_PASS:<20} {run.seconds:7.2f} s wall {run.cpu:7.2f} s CPU "
                f"{run.peak_rss_mb:6.0f} MB"
            )
        stored = {
            "ours": count(work / "ours.db", "SELECT count(*) FROM items")
            if results["ours"]
            else None,
            "reader": count(work / "reader.db", "SELECT count(*) FROM entries")
            if results["reader"]
            else None,
        }
        tagged = (
            count(work / "ours.db", "SELECT count(DISTINCT item_id) FROM item_tags")
            if results["ours"]
            else 0
        )
    finally:
        server.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")
    print_table(results, (*passes, (CLI_PASS, True)) if args.cli else passes)
    print(
        f"items stored: ours {stored['ours']} ({tagged} with at least one tag), "
        f"reader {stored['reader']}; expected {expected}"
    )
    print(json.dumps({"stored": stored, "tagged": tagged}))
    if any(n is not None and n != expected for n in stored.values()):
        sys.exit("a side did not store every item")


def print_table(results: dict[str, dict[str, Run]], passes: tuple[tuple[str, bool], ...]) -> None:
    """Wall seconds, their ratio (reader / ours), CPU seconds and their ratio, peak RSS."""
    print()
    print(
        f"{'pass':<22}{'ours s':>8}{'reader s':>10}{'ratio':>8}"
        f"{'ours CPU':>10}{'reader CPU':>12}{'ratio':>8}{'ours MB':>9}{'reader MB':>11}"
    )
    for name, _ in passes:
        ours, theirs = results["ours"].get(name), results["reader"].get(name)
        cells = [f"{name:<22}"]
        cells.append(f"{ours.seconds:8.2f}" if ours else f"{'-':>8}")
        cells.append(f"{theirs.seconds:10.2f}" if theirs else f"{'-':>10}")
        cells.append(f"{theirs.seconds / ours.seconds:7.1f}x" if ours and theirs else f"{'-':>8}")
        cells.append(f"{ours.cpu:10.2f}" if ours else f"{'-':>10}")
        cells.append(f"{theirs.cpu:12.2f}" if theirs else f"{'-':>12}")
        cells.append(f"{theirs.cpu / ours.cpu:7.1f}x" if ours and theirs else f"{'-':>8}")
        cells.append(f"{ours.peak_rss_mb:9.0f}" if ours else f"{'-':>9}")
        cells.append(f"{theirs.peak_rss_mb:11.0f}" if theirs else f"{'-':>11}")
        print("".join(cells))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

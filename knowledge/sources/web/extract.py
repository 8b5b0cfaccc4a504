"""One HTML page → its readable main content and the structured data around it.

The text keeps headings as '# ' lines and table rows as '| a | b |' lines, because later steps
cut chunks at headings and read opening hours and prices out of tables. Boilerplate (menus,
footers, cookie banners, newsletter boxes) is left out: it repeats on every page and would
drown the one answer a customer needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import extruct
import jstyleson
import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode
from trafilatura.settings import use_config


@dataclass(frozen=True)
class ExtractedPage:
    title: str
    text: str  # main content, markdown-ish: '# ' headings, '- ' list items, '| a | b |' table rows
    language: str | None  # primary subtag of <html lang>, e.g. "it"
    jsonld: list[dict[str, Any]]  # JSON-LD and microdata nodes, @graph flattened
    headings: list[str]
    tables: list[list[list[str]]]  # table → rows → cell texts, from the main content
    canonical: str | None  # absolute <link rel=canonical>, fragment dropped
    links: list[str]  # absolute same-host links anywhere on the page (menus too: they lead to pages)
    # The whole page rendered the same way, footers included: "last updated" lines often live there.
    visible_text: str = field(default="", repr=False)


# trafilatura refuses to extract less than 250 characters by default and then falls back to
# "everything on the page", menus included; short pages (a contact page) are common on brand sites.
_TRAFILATURA = use_config()
_TRAFILATURA.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
_TRAFILATURA.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")

_NEVER_TEXT = "script, style, noscript, template, svg, iframe, object, canvas, select"
_CHROME = "nav, aside, [role=navigation], [role=complementary], [role=search], [role=banner], [role=contentinfo]"
# Class or id fragments of elements that are never the answer to a question (consent
# managers, newsletter boxes, share bars).  Size-guarded below, so a page *about* cookies survives.
_BOILERPLATE = re.compile(
    r"cookie|consent|gdpr|iubenda|onetrust|didomi|cookiebot|newsletter|subscribe|"
    r"share-?buttons|social-?share|breadcrumb|skip-?link|popup|modal",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_CHARS = 1500
# Page chrome marked only by class names (sites without <nav>/<footer>): a header or footer of the
# site or page (not of a card: "card-header" is content), a sidebar, and link-heavy menus.
_CHROME_FRAME = re.compile(
    r"(?:^|\s)(?:site-|page-|main-|global-|top-|bottom-)?(?:header|footer|sidebar)(?:$|[\s_-])", re.IGNORECASE
)
_CHROME_MENU = re.compile(r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|topbar|masthead)(?:$|[\s_-])", re.IGNORECASE)
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {
    "address", "article", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary",
    "ul", "tr", "td", "th", "caption", "body", "html", "label", "legend",
}
_TABLE_SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u200b]+")


def extract_page(html: str, url: str) -> ExtractedPage:
    tree = LexborHTMLParser(html)
    base = _base_url(tree, url)
    title = _title(tree)
    language = _language(tree)
    canonical = _canonical(tree, base)
    jsonld = _jsonld(tree) + _microdata(html, url)
    links = _links(tree, base, url)

    _drop(tree, _NEVER_TEXT)
    visible_text = _render(tree.body) if tree.body is not None else ""
    _drop_boilerplate(tree)
    cleaned_html = tree.html or ""

    main, declared = _main_content(tree)
    tables = [rows for table in main.css("table") if (rows := _table_rows(table))] if main else []
    expected = [_heading_text(h) for h in main.css("h1, h2, h3, h4, h5, h6")] if main else []
    expected += [cell for table in tables for row in table for cell in row]
    expected += [f"{term}: {value}" for dl in main.css("dl") for term, value in _definitions(dl)] if main else []
    if main is not None and declared:
        # Inside a <main> the site itself declared, a list of links is content (promotions,
        # featured products), not a menu: trafilatura drops such lists, the renderer keeps them.
        expected += [_collapse(li.text(deep=True, separator=" ")) for li in main.css("li")]

    text = _trafilatura_text(cleaned_html, url)
    # trafilatura's heuristics are good at finding the content block but sometimes drop a
    # heading or a table next to it, and split a definition list ("Lunedì" / "9-19") over two
    # lines; those are what hours and prices are read from, so when anything of the main
    # content is missing or split, the main element is rendered instead.  An empty main
    # element means a page without content, whatever menu text trafilatura fell back to.
    if main is not None:
        rendered = _render(main)
        if not rendered or not text or _missing(expected, text):
            text = rendered
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    if not title:
        title = headings[0] if headings else ""
    return ExtractedPage(
        title=title,
        text=text,
        language=language,
        jsonld=jsonld,
        headings=headings,
        tables=tables,
        canonical=canonical,
        links=links,
        visible_text=visible_text,
    )


def _trafilatura_text(html: str, url: str) -> str:
    try:
        out = trafilatura.extract(
            html,
            url=url,
            output_format="markdown",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            favor_recall=True,
            deduplicate=False,
            fast=True,
            config=_TRAFILATURA,
        )
    except Exception:  # noqa: BLE001 - a parser crash on one odd page must not stop a crawl
        return ""
    if not out:
        return ""
    lines = [line.rstrip() for line in out.splitlines()]
    lines = _unwrap([line for line in lines if not _TABLE_SEPARATOR.match(line)])
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_BLOCK_START = re.compile(r"^\s*(#|[-*+] |\||\d+[.)] |>)")


def _unwrap(lines: list[str]) -> list[str]:
    """Rejoin a sentence the page's HTML source wrapped over lines ("… senza dover" / "indicare il
    motivo …"): trafilatura keeps those newlines, and a reply quoting whole sentences would stop
    mid-phrase. A line continues the previous one when it starts in lower case and the previous
    one ends without a full stop and is not a heading, list item or table row."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if (prev.strip() and line.lstrip()[:1].islower() and not _BLOCK_START.match(line)
                and not prev.lstrip().startswith(("#", "|")) and not prev.rstrip().endswith((".", "!", "?", ":"))):
            out[-1] = f"{prev} {line.strip()}"
        else:
            out.append(line)
    return out


def _missing(expected: list[str], text: str) -> bool:
    flat = _flat(text)
    return any(_flat(item) not in flat for item in expected if item)


def _flat(text: str) -> str:
    return " ".join(_SPACES.sub(" ", text).split()).casefold()


# --- page metadata -----------------------------------------------------------------------------


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = (base.attributes.get("href") or "").strip() if base else ""
    return urljoin(url, href) if href else url


def _title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    if node is not None and (text := _collapse(node.text())):
        return text
    og = tree.css_first('meta[property="og:title"]')
    if og is not None and (text := _collapse(og.attributes.get("content") or "")):
        return text
    return ""


def _language(tree: LexborHTMLParser) -> str | None:
    attrs = tree.root.attributes if tree.root is not None else {}
    lang = (attrs.get("lang") or attrs.get("xml:lang") or "").strip()
    primary = re.split(r"[-_]", lang)[0].lower() if lang else ""
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _canonical(tree: LexborHTMLParser, base: str) -> str | None:
    for link in tree.css("link[rel][href]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        href = (link.attributes.get("href") or "").strip()
        if "canonical" in rels and href:
            absolute = urldefrag(urljoin(base, href)).url
            if urlsplit(absolute).scheme in ("http", "https"):
                return absolute
    return None


def _links(tree: LexborHTMLParser, base: str, url: str) -> list[str]:
    host = urlsplit(url).netloc.lower()
    seen: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        absolute = urldefrag(urljoin(base, href)).url
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc.lower() == host:
            seen.setdefault(absolute, None)
    return list(seen)


def _jsonld(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """Every JSON-LD block, each read on its own so one broken block does not hide the others."""
    nodes: list[dict[str, Any]] = []
    for script in tree.css("script[type]"):
        if (script.attributes.get("type") or "").split(";")[0].strip().lower() != "application/ld+json":
            continue
        data = _loads_lenient(script.text(deep=True))
        if data is not None:
            nodes.extend(_flatten_graph(data))
    return nodes


_WRAPPER = re.compile(r"^\s*(<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(-->|//\s*\]\]>|\]\]>)\s*$")


def _loads_lenient(raw: str) -> Any:
    """JSON-LD as found in the wild: wrapped in HTML comments or CDATA, with // comments or trailing
    commas. jstyleson (extruct's own reader for sloppy JSON-LD) takes the comments and commas."""
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    try:
        return jstyleson.loads(_WRAPPER.sub("", raw.strip()), strict=False)
    except ValueError:
        return None


def _microdata(html: str, url: str) -> list[dict[str, Any]]:
    """schema.org microdata (itemscope/itemprop), as JSON-LD-shaped nodes, read by extruct."""
    if "itemscope" not in html:
        return []  # most pages have none: skip a second parse of the HTML
    try:
        found = extruct.extract(html, base_url=url, syntaxes=["microdata"], uniform=True, errors="ignore")
    except Exception:  # extruct and lxml raise their own types on broken markup
        return []
    return [node for item in found.get("microdata", []) for node in _flatten_graph(item)]


def _flatten_graph(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [node for item in data for node in _flatten_graph(item)]
    if not isinstance(data, dict):
        return []
    graph = data.get("@graph")
    if isinstance(graph, list | dict):
        rest = {k: v for k, v in data.items() if k not in ("@graph", "@context")}
        return ([rest] if rest else []) + _flatten_graph(graph)
    return [data]


# --- main content ------------------------------------------------------------------------------


def _drop(tree: LexborHTMLParser | LexborNode, selector: str) -> None:
    _decompose(tree.css(selector))


def _decompose(nodes: list[LexborNode]) -> None:
    """Remove nodes, outermost only: a node inside an already removed one no longer exists."""
    doomed = {node.mem_id for node in nodes}
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in doomed:
            parent = parent.parent
        if parent is None:
            node.decompose()


def _drop_boilerplate(tree: LexborHTMLParser) -> None:
    doomed = [node for node in tree.css("[class], [id]") if _is_boilerplate(node)]
    # Whole pages wrapped in one <form> (old CMSs) keep their content: the size guard again.
    doomed += [form for form in tree.css("form") if _small_and_headless(form)]
    _decompose(doomed)


def _is_boilerplate(node: LexborNode) -> bool:
    if node.tag in ("html", "body", "main", "article"):
        return False
    marker = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
    return bool(_BOILERPLATE.search(marker)) and _small_and_headless(node)


def _small_and_headless(node: LexborNode) -> bool:
    if node.css_first("main, article, h1") is not None:
        return False
    return len(node.text(deep=True, separator=" ")) <= _BOILERPLATE_MAX_CHARS


def _main_content(tree: LexborHTMLParser) -> tuple[LexborNode | None, bool]:
    """`<main>`, else the only `<article>`, else `<body>`, with menus and page chrome removed;
    and whether the page declared it (main or article) rather than it being the whole body."""
    node = tree.css_first("main") or tree.css_first("[role=main]")
    if node is None:
        articles = tree.css("article")
        node = articles[0] if len(articles) == 1 else None
    declared = node is not None
    node = node or tree.body
    if node is None:
        return None, False
    _drop(node, _CHROME)
    _decompose([part for part in node.css("[class], [id]") if _is_chrome(part)])
    # A header or footer inside an article belongs to it (its title, its byline); others are chrome.
    _decompose([part for part in node.css("header, footer") if not _inside(part, "article", stop=node)])
    return node, declared


def _is_chrome(node: LexborNode) -> bool:
    marker = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}".strip()
    if not marker or node.tag in ("main", "article", "body", "html"):
        return False
    frame, menu = _CHROME_FRAME.search(marker), _CHROME_MENU.search(marker)
    if not (frame or menu) or node.css_first("main, article, h1, h2") is not None:
        return False
    return bool(frame) or _link_density(node) >= 0.5


def _link_density(node: LexborNode) -> float:
    text = len(_collapse(node.text(deep=True, separator=" ")))
    linked = sum(len(_collapse(a.text(deep=True, separator=" "))) for a in node.css("a"))
    return linked / text if text else 1.0


def _inside(node: LexborNode, tag: str, *, stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if parent.tag == tag:
            return True
        parent = parent.parent
    return stop.tag == tag


def _heading_text(node: LexborNode) -> str:
    return _collapse(node.text(deep=True, separator=" "))


def _table_rows(table: LexborNode) -> list[list[str]]:
    rows = []
    for row in table.css("tr"):
        owner = _nearest_table(row)
        if owner is None or owner.mem_id != table.mem_id:
            continue  # a row of a nested table is read with that table
        cells = [_collapse(cell.text(deep=True, separator=" ")) for cell in row.iter() if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


def _definitions(dl: LexborNode) -> list[tuple[str, str]]:
    """(term, value) pairs of a <dl>; several <dd> of one <dt> are joined with '; '."""
    pairs: list[tuple[str, list[str]]] = []
    for child in dl.css("dt, dd"):
        text = _collapse(child.text(deep=True, separator=" "))
        if child.tag == "dt":
            pairs.append((text, []))
        elif pairs and text:
            pairs[-1][1].append(text)
    return [(term, "; ".join(values)) for term, values in pairs if term and values]


def _nearest_table(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def _render(node: LexborNode) -> str:
    """Markdown-ish text of an element: one line per block, headings '#', lists '- ', tables '|'."""
    lines: list[str] = []
    inline: list[str] = []

    def flush() -> None:
        text = _collapse("".join(inline))
        inline.clear()
        if text:
            lines.append(text)

    def walk(parent: LexborNode) -> None:
        for child in parent.iter(include_text=True):
            tag = child.tag
            if child.is_text_node:
                inline.append(child.text(deep=False))
            elif tag == "br":
                flush()
            elif tag in _HEADING_TAGS:
                flush()
                if text := _heading_text(child):
                    lines.append("#" * _HEADING_TAGS[tag] + " " + text)
            elif tag == "table":
                flush()
                lines.extend("| " + " | ".join(row) + " |" for row in _table_rows(child))
            elif tag == "dl":
                flush()
                lines.extend(f"- {term}: {value}" for term, value in _definitions(child))
            elif tag == "li":
                flush()
                start = len(lines)
                walk(child)
                flush()
                if len(lines) > start:
                    lines[start] = "- " + lines[start]
            elif tag in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            elif child.is_element_node:
                walk(child)

    walk(node)
    flush()
    return _join(lines)


def _join(lines: list[str]) -> str:
    """Blank lines between blocks, single newlines inside a list or a table (they stay together)."""
    out = ""
    for i, line in enumerate(lines):
        if i:
            prev = lines[i - 1]
            same_run = (prev.startswith("|") and line.startswith("|")) or (
                prev.startswith("- ") and line.startswith("- ")
            )
            out += "\n" if same_run else "\n\n"
        out += line
    return out


def _collapse(text: str) -> str:
    return " ".join(_SPACES.sub(" ", text).split())

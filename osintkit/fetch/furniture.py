"""What on a page is not the claim: trackers, ad/recommendation widgets, page furniture.

Every rule and word list of the claim-vs-furniture decision lives here (the article and
telegram sources apply them). Trackers and ad/recommendation widgets are skipped (listed
in the manifest as `ignored`); other furniture (logos, author photos, related-story
thumbnails, icons) becomes manifest items with role "furniture", not downloaded unless
asked (`--with-furniture`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Hosts of analytics, ad exchanges and tracking pixels (suffix match).
TRACKER_HOSTS = (
    "doubleclick.net", "google-analytics.com", "googletagmanager.com", "googlesyndication.com",
    "googleadservices.com", "adservice.google.com", "scorecardresearch.com", "quantserve.com",
    "chartbeat.net", "chartbeat.com", "facebook.com", "facebook.net", "bat.bing.com",
    "omtrdc.net", "demdex.net", "krxd.net", "adnxs.com", "rubiconproject.com", "pubmatic.com",
    "criteo.com", "criteo.net", "casalemedia.com", "openx.net", "moatads.com", "adsrvr.org",
    "amazon-adsystem.com", "bluekai.com", "exelator.com", "agkn.com", "mathtag.com",
    "rlcdn.com", "tapad.com", "yieldmo.com", "everesttech.net", "nr-data.net", "newrelic.com",
    "hotjar.com", "mouseflow.com", "parsely.com", "parse.ly", "cxense.com", "ioam.de",
    "xiti.com", "ati-host.net", "gemius.pl", "spotxchange.com", "teads.tv", "smartadserver.com",
    "adform.net", "yandex.ru", "mc.yandex.ru", "top100.ru", "tns-counter.ru", "clicky.com",
    "statcounter.com", "sitemeter.com", "nielsen.com", "imrworldwide.com", "comscore.com",
    "ads-twitter.com", "analytics.twitter.com", "t.co", "linkedin.com", "pinterest.com",
    "quantcount.com", "segment.io", "segment.com", "mixpanel.com", "optimizely.com",
    "permutive.com", "piano.io", "tinypass.com", "sharethrough.com", "3lift.com",
    "outbrain.com", "outbrainimg.com", "taboola.com", "taboolasyndication.com", "revcontent.com",
    "mgid.com", "zergnet.com", "dianomi.com", "plista.com", "ligatus.com", "nativo.com",
    "adblade.com", "content.ad", "gravity.com", "disqus.com", "disquscdn.com", "wp.com/i/",
)
# Paths and queries of tracking pixels: o.gif?..., p?c1=..., /b/ss/, __utm.gif, beacons.
TRACKER_PATH = re.compile(
    r"(/|^)(o|p|pixel|px|beacon|spacer|blank|clear|transparent|1x1|track|tracking|"
    r"__utm|utm|b/ss|collect|count|counter|hit|impression|imp|view|ping|event|log)"
    r"(\.gif|\.png|\.jpg|\.php|\.aspx?|/|$|\?)|[?&](c1|c2|cv|rnd|cb|ord)=",
    re.I)
# Class/id words of ad and recommendation widgets (skipped with their images).
AD_WIDGET = re.compile(
    r"taboola|outbrain|\bob-|ob_|trc_|revcontent|\bmgid|zergnet|dianomi|plista|ligatus|"
    r"nativo|adsbygoogle|\bgpt-ad|\bdfp|google_ads|\bad-slot|\badslot|\bad_slot|\badunit|"
    r"\bad-unit|\bad-container|\badvert|\bsponsor|\bpromoted|native-ad|\bads?\b|"
    r"\bad-|\bads-|commercial|anzeige|werbung|\bgame-?widget|\bgames?-",
    re.I)
# Class/id words of page furniture: navigation, sidebars, related stories, authors...
FURNITURE_WORDS = re.compile(
    r"related|recommend|more-?from|more-?stories|read-?more|read-?next|up-?next|next-?article|"
    r"trending|popular|most-?read|most-?viewed|top-?stories|teaser|promo|sidebar|\brail|"
    r"widget|newsletter|subscri|signup|sign-up|share|social|sharing|follow|author|byline|"
    r"avatar|profile|bio\b|comment|footer|\bnav|menu|masthead|\blogo|brand|breadcrumb|"
    r"banner|cookie|consent|paywall|\bmodal|popup|toolbar|\bicon|badge|emoji|"
    r"(?<![\w-])header(?![\w-])|site-?header|global-?header|page-?header|also|"
    r"\bcard|\bfeed|storylist|story-?list|\blist-|outbrain|\bmore\b|video-?playlist|carousel-related|"
    r"headline|studio|branded|partner|rotate|selection",
    re.I)
# Class/id words of the article's own content.
MAIN_WORDS = re.compile(
    r"article-?body|story-?body|entry-?content|post-?content|article-?content|"
    r"article__body|articlebody|story-?content|content-?body|body-?text|main-?content|"
    r"article-?text|story-?text|post-?body|news-?body|article-?main|storytext",
    re.I)
# Class/id words of media blocks that belong to the article when inside it.
MEDIA_BLOCK = re.compile(r"gallery|gal-embed|slideshow|slider|carousel|lightbox|photo|figure|"
                         r"media|lead|lede|hero|top-?image|main-?image|video|player|inline-?gra|"
                         r"type-(image|photo|video)|wp-block-image|embed(ded)?-?image|"
                         r"inline-?image",
                         re.I)
LOGO_URL = re.compile(r"logo|favicon|sprite|placeholder|default[-_]?(image|share|og)|"
                      r"fallback|blank|spacer|social[-_]?share|apple-touch|/icons?/", re.I)
ARTICLE_TYPES = frozenset({"Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle",
                           "BlogPosting", "LiveBlogPosting", "Report", "ScholarlyArticle",
                           "SocialMediaPosting", "VideoObject", "ImageGallery", "MediaGallery",
                           "OpinionNewsArticle", "BackgroundNewsArticle", "TechArticle",
                           "WebPage", "ItemPage"})
PLAYER_HOSTS = ("youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com",
                "dailymotion.com", "player.", "jwplayer", "brightcove", "rumble.com",
                "facebook.com/plugins/video", "twitter.com", "x.com", "tiktok.com",
                "instagram.com", "streamable.com", "ooyala", "kaltura", "vidible")
# A furniture-worded block inside the article holding at least this share of its text
# wraps the article (blogger's "widget Blog", a share-bar parent), it is no furniture.
WRAPPER_SHARE = 0.5
MIN_SIDE = 100  # declared smaller than this (either side): an icon, not a picture


def host_matches(host: str, suffixes: tuple[str, ...]) -> bool:
    """True when `host` is one of `suffixes` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in suffixes if "/" not in s)


def tracker_reason(url: str, width: int | None = None, height: int | None = None) -> str | None:
    """Why this media URL is a tracker (pixel, analytics host), or None."""
    if width is not None and height is not None and width <= 2 and height <= 2:
        return f"tracking pixel ({width}x{height})"
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.hostname or ""
    if host_matches(host, TRACKER_HOSTS):
        return f"tracker or ad host ({host})"
    path = parts.path + ("?" + parts.query if parts.query else "")
    if TRACKER_PATH.search(path) and not re.search(r"\.(jpe?g|png|webp|avif)$", parts.path, re.I):
        return "tracking pixel URL"
    if "/" in url and any(s in url for s in TRACKER_HOSTS if "/" in s):
        return "tracker or ad host"
    return None


def is_player(url: str) -> bool:
    """An embedded video player (YouTube, Vimeo, a news site's player...)."""
    low = url.lower()
    host = urlsplit(low).hostname or ""
    return any(h in host or h in low for h in PLAYER_HOSTS)

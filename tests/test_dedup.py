"""Unit tests for monitor.dedup: canonical URLs, story ids and same-site checks. Pure functions."""

from __future__ import annotations

import re

import pytest

from monitor.dedup import canonical_url, same_site, site_of, story_id

# --- canonical_url ------------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("HTTP://WWW.Example.COM/News/Story", "http://www.example.com/News/Story"),
    ("HTTPS://EXAMPLE.ORG/a", "https://example.org/a"),
    ("https://Example.com./a", "https://example.com/a"),           # trailing root dot
])
def test_scheme_and_host_are_lower_cased_but_the_path_keeps_its_case(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("HTTPS://EXAMPLE.COM:443", "https://example.com/"),
    # a port that is not the scheme's default is part of the identity
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
])
def test_default_ports_are_dropped_and_other_ports_kept(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", [
    "https://example.com/a#comments",
    "https://example.com/a#",
    "https://example.com/a?#top",
])
def test_fragment_is_removed(url):
    assert canonical_url(url) == "https://example.com/a"


@pytest.mark.parametrize("query", [
    "utm_source=rss", "utm_medium=feed&utm_campaign=x&utm_content=y&utm_term=z",
    "UTM_Source=RSS",                                   # names compared without case
    "fbclid=IwAR0abc", "gclid=Cj0KCQ", "at_medium=RSS&at_campaign=rss",  # BBC's at_*
    "ns_mchannel=rss&ns_campaign=1490&ito=1490",        # Mail Online
    "msclkid=1&yclid=2&mc_cid=3&mc_eid=4",
])
def test_tracking_parameters_are_removed(query):
    assert canonical_url(f"https://example.com/a?{query}") == "https://example.com/a"


def test_tracking_parameters_are_removed_but_content_parameters_kept():
    url = "https://example.com/story?utm_source=rss&id=5&fbclid=xyz&gclid=abc&at_medium=RSS"
    assert canonical_url(url) == "https://example.com/story?id=5"


@pytest.mark.parametrize("url, expected", [
    ("https://example.com/a?id=5", "https://example.com/a?id=5"),
    ("https://example.com/?p=123", "https://example.com/?p=123"),             # WordPress
    ("https://example.com/news?page=2&sort=new", "https://example.com/news?page=2&sort=new"),
    ("https://example.com/a?article=5&rss=1", "https://example.com/a?article=5"),
])
def test_parameters_that_select_content_are_kept(url, expected):
    assert canonical_url(url) == expected


def test_query_is_sorted_so_parameter_order_does_not_matter():
    a = canonical_url("https://example.com/a?b=2&a=1&c=3")
    b = canonical_url("https://example.com/a?c=3&a=1&b=2")
    assert a == b == "https://example.com/a?a=1&b=2&c=3"


def test_repeated_parameters_are_all_kept():
    assert canonical_url("https://example.com/a?id=5&id=3") == "https://example.com/a?id=3&id=5"


@pytest.mark.parametrize("url", ["https://example.com", "https://example.com/",
                                 "https://EXAMPLE.com:443", "https://example.com/#top"])
def test_empty_path_becomes_a_single_slash(url):
    assert canonical_url(url) == "https://example.com/"


def test_trailing_slash_of_a_non_empty_path_is_left_alone():
    # /a and /a/ may be different resources; only the empty path is normalised
    assert canonical_url("https://example.com/a/") == "https://example.com/a/"
    assert canonical_url("https://example.com/a") == "https://example.com/a"


def test_an_empty_query_is_dropped():
    assert canonical_url("https://example.com/a?") == "https://example.com/a"
    assert canonical_url("https://example.com/a?utm_source=x") == "https://example.com/a"


def test_percent_encoding_of_the_path_is_normalised():
    # unreserved characters are decoded, the rest is encoded in upper case
    assert canonical_url("https://example.com/%7Euser") == "https://example.com/~user"
    assert (canonical_url("https://example.com/caf%c3%a9")
            == canonical_url("https://example.com/café") == "https://example.com/caf%C3%A9")
    assert canonical_url("https://example.com/a b") == "https://example.com/a%20b"


def test_credentials_and_surrounding_whitespace_are_not_part_of_the_identity():
    assert canonical_url("  https://user:secret@example.com/a \n") == "https://example.com/a"


@pytest.mark.parametrize("url", [
    "HTTP://WWW.Example.COM:80/News/?utm_source=x&b=2&a=1#frag",
    "https://example.com/caf%C3%A9?q=a%20b",
    "https://example.com/a?x",
    "https://example.com/%7Euser/",
])
def test_canonical_url_is_idempotent(url):
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_encoded_slash_in_the_path_is_not_decoded():
    assert canonical_url("https://example.com/a%2Fb") != canonical_url("https://example.com/a/b")


def test_encoded_percent_sign_survives_canonicalisation():
    once = canonical_url("https://example.com/100%25AB")
    assert once == "https://example.com/100%25AB"
    assert canonical_url(once) == once


def test_non_utf8_percent_escapes_keep_distinct_urls_distinct():
    assert (canonical_url("https://example.com/caf%E9")
            != canonical_url("https://example.com/caf%E8"))


def test_ipv6_host_keeps_its_brackets():
    assert canonical_url("https://[::1]:8080/a") == "https://[::1]:8080/a"


# --- story_id -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://example.com/a", "https://www.bbc.co.uk/news/world-asia-1",
                                 "https://example.com/caf%C3%A9?id=5", ""])
def test_story_id_is_16_lower_case_hex_digits(url):
    assert re.fullmatch(r"[0-9a-f]{16}", story_id(canonical_url(url) if url else url))


def test_story_id_is_stable_across_calls_and_releases():
    # the start of the SHA-256 of the canonical URL: a known value, so a change is noticed
    # (corpus file names and the database are keyed by it)
    assert story_id("https://example.com/a") == "2dce0a4c50441bfc"
    assert story_id("https://example.com/a") == story_id("https://example.com/a")


def test_story_id_is_the_same_for_tracking_variants_of_one_link():
    ids = {story_id(canonical_url(u)) for u in (
        "https://Example.com/a?utm_source=rss",
        "https://example.com:443/a#x",
        "https://example.com/a?fbclid=1&at_campaign=rss",
    )}
    assert ids == {story_id("https://example.com/a")}


def test_story_id_differs_for_different_stories():
    ids = {story_id(canonical_url(f"https://example.com/a?id={i}")) for i in range(200)}
    assert len(ids) == 200


# --- same_site ----------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [
    ("https://www.bbc.co.uk/news/1", "https://bbc.co.uk/x"),
    ("https://www.bbc.co.uk/", "https://news.bbc.co.uk/"),
    ("https://www.BBC.co.uk/", "https://bbc.co.uk./"),
    ("https://www.bbc.com/news", "https://bbc.com/"),
    ("https://edition.cnn.com/a", "https://www.cnn.com/b"),
    ("https://www.abc.net.au/news/1", "https://abc.net.au/"),
    ("http://www.example.com/a", "https://example.com:8443/b"),   # scheme and port do not matter
])
def test_same_site(a, b):
    assert same_site(a, b)
    assert same_site(b, a)


@pytest.mark.parametrize("a, b", [
    ("https://www.bbc.co.uk/", "https://www.bbc.com/"),
    ("https://bbc.co.uk/", "https://bbc.com/"),
    ("https://news.bbc.co.uk/", "https://feeds.bbci.co.uk/"),
    ("https://bbc.co.uk/", "https://itv.co.uk/"),                 # not "same site" because co.uk
    ("https://example.com/", "https://example.org/"),
    ("https://example.com/", "not a url"),
    ("", ""),
])
def test_not_same_site(a, b):
    assert not same_site(a, b)
    assert not same_site(b, a)


def test_site_of_keeps_the_registrable_part():
    assert site_of("https://www.bbc.co.uk/news") == "bbc.co.uk"
    assert site_of("https://feeds.bbci.co.uk/news/rss.xml") == "bbci.co.uk"
    assert site_of("https://www.bbc.com/") == "bbc.com"
    assert site_of("https://a.b.c.example.org/") == "example.org"


def test_different_ip_addresses_are_not_the_same_site():
    assert not same_site("http://127.0.0.1/a", "http://10.0.0.1/a")

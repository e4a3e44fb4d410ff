"""Unit tests for monitor.classify: keep a story only when it names both Russia and North Korea.

English, Russian (inflected) and Korean (particles attached) forms; the classic traps that must not
count; and the evidence (term, side, field, position) handed on with every verdict.
"""

from __future__ import annotations

import pytest

from monitor.classify import classify, evidence, find_terms


def terms(text: str) -> set[tuple[str, str]]:
    """(side, term) pairs found in `text`."""
    return {(m.side, m.term) for m in find_terms(text, "title")}


def sides(text: str) -> set[str]:
    return {m.side for m in find_terms(text, "title")}


# --- both sides → keep; one side → reject ------------------------------------------------------


@pytest.mark.parametrize("title", [
    "Russia and North Korea sign mutual defence treaty",
    "Putin arrives in Pyongyang for talks with Kim Jong Un",
    "Kremlin says Kim Jong-un will visit Moscow",
    "Lavrov meets Choe Son Hui in Wonsan",
    "KCNA: DPRK delegation leaves for Vladivostok",
    "North Korean troops deployed to Kursk, officials say",
    "Россия и КНДР подписали договор о стратегическом партнёрстве",
    "Путин прибыл в Пхеньян",
    "북한과 러시아, 포괄적 전략 동반자 협정 체결",
    "북러 정상회담 열려",                     # 북러: both sides in one word
    "조러 친선",                             # North Korean usage
])
def test_a_story_naming_both_sides_is_kept(title):
    v = classify({"title": title})
    assert v.keep, v
    assert v.sides >= {"a", "b"}
    assert v.reason.startswith("score ") and "both in the title" in v.reason


def test_both_sides_may_come_from_different_fields():
    v = classify({"title": "Putin hosts a state banquet",
                  "summary": "Guests included a delegation from Pyongyang."})
    assert v.keep
    assert {(m.field, m.side) for m in v.matches} == {("title", "a"), ("summary", "b")}


@pytest.mark.parametrize("title, missing", [
    ("Russia launches new offensive in eastern Ukraine", "North Korea"),
    ("Kremlin denies report on sanctions", "North Korea"),
    ("North Korea fires ballistic missile into the sea", "Russia"),
    ("Kim Jong Un inspects a munitions factory", "Russia"),
    ("Пхеньян провёл военный парад", "Russia"),
    ("러시아 루블화 급락", "North Korea"),
])
def test_a_story_naming_one_side_is_rejected_with_the_missing_side_as_reason(title, missing):
    v = classify({"title": title})
    assert not v.keep
    assert len(v.sides) == 1
    assert v.reason == f"names only one side (no {missing} term)"


@pytest.mark.parametrize("fields", [
    {"title": "Stock markets close higher on tech rally"},
    {"title": ""},
    {},
    {"title": "Celebrity chef opens restaurant in London", "summary": "", "text": "Nothing here."},
])
def test_a_story_naming_neither_side_is_rejected(fields):
    v = classify(fields)
    assert not v.keep
    assert v.sides == frozenset()
    assert v.matches == ()
    assert v.reason == "names neither side"


# --- English forms ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, term", [
    ("Russia", "Russia"), ("Russian", "Russia"), ("Russians", "Russia"), ("Russia's", "Russia"),
    ("RUSSIA", "Russia"), ("russia", "Russia"), ("Russian-made drones", "Russia"),
    ("Moscow's position", "Moscow"), ("Kremlin-backed", "Kremlin"), ("Putin's visit", "Putin"),
    ("Sergei Shoigu", "Shoigu"), ("Vladivostok", "Vladivostok"), ("TASS reported", "TASS"),
])
def test_english_russia_terms(text, term):
    assert ("a", term) in terms(text)


@pytest.mark.parametrize("text, term", [
    ("North Korea", "North Korea"), ("North Korean soldiers", "North Korea"),
    ("North Koreans", "North Korea"), ("North Korea's", "North Korea"),
    ("NORTH KOREA", "North Korea"), ("N. Korea", "North Korea"), ("N.Korea", "North Korea"),
    ("North\u00a0Korea", "North Korea"), ("North\nKorea", "North Korea"),
    ("DPRK", "DPRK"), ("DPRK's", "DPRK"), ("Pyongyang", "Pyongyang"),
    ("Kim Jong Un", "Kim Jong Un"), ("Kim Jong-un", "Kim Jong Un"),
    ("Kim Jong Un's", "Kim Jong Un"),
    ("Kim Yo Jong", "Kim Yo Jong"), ("Kim Yo-jong", "Kim Yo Jong"), ("Kim Jong Il", "Kim Jong Il"),
    ("KCNA", "KCNA"), ("Korean People's Army", "Korean People's Army"),
])
def test_english_north_korea_terms(text, term):
    assert ("b", term) in terms(text)


# --- Russian: inflected forms -------------------------------------------------------------------


@pytest.mark.parametrize("text, side, term", [
    ("Россия", "a", "Russia"),
    ("России", "a", "Russia"),                   # genitive/dative
    ("Россией", "a", "Russia"),                  # instrumental
    ("РОССИИ", "a", "Russia"),
    ("российские военные", "a", "Russia"),
    ("РФ", "a", "Russia"),
    ("в Москве", "a", "Moscow"),
    ("Кремль", "a", "Kremlin"),
    ("Путиным", "a", "Putin"),
    ("КНДР", "b", "DPRK"),
    ("кндр", "b", "DPRK"),
    ("Пхеньян", "b", "Pyongyang"),
    ("Пхеньяну", "b", "Pyongyang"),              # dative
    ("Пхеньяном", "b", "Pyongyang"),
    ("Северная Корея", "b", "North Korea"),
    ("Северной Кореи", "b", "North Korea"),      # genitive
    ("Ким Чен Ын", "b", "Kim Jong Un"),
    ("Ким Чен Ына", "b", "Kim Jong Un"),         # genitive
    ("Ким Чен Ыну", "b", "Kim Jong Un"),
    ("Ким\u00a0Чен\u00a0Ын", "b", "Kim Jong Un"),
])
def test_russian_forms(text, side, term):
    found = [m for m in find_terms(text, "title") if (m.side, m.term) == (side, term)]
    assert found
    for m in found:
        end = m.position + len(m.surface)
        assert text[m.position:end] == m.surface
        # the surface is the whole inflected word, not only the stem
        assert end == len(text) or not text[end].isalnum()


def test_russian_sentence_with_inflected_names_is_kept():
    v = classify({"title": "Путин встретился с Ким Чен Ыном в Пхеньяне",
                  "summary": "Лидеры России и Северной Кореи обсудили сотрудничество"})
    assert v.keep
    assert {m.term for m in v.matches} >= {"Putin", "Kim Jong Un", "Pyongyang", "Russia",
                                           "North Korea"}


def test_russian_adjective_north_korean_counts():
    assert "b" in sides("северокорейские военные")
    assert classify({"title": "Северокорейские военные прибыли в Курскую область"}).keep


# --- Korean: particles attach to the word -------------------------------------------------------


@pytest.mark.parametrize("text, side, term", [
    ("북한은", "b", "North Korea"),
    ("북한군", "b", "North Korea"),
    ("평양에서", "b", "Pyongyang"),
    ("김정은 위원장", "b", "Kim Jong Un"),
    ("러시아의", "a", "Russia"),
    ("러시아와", "a", "Russia"),
    ("푸틴 대통령", "a", "Putin"),
    ("모스크바로", "a", "Moscow"),
])
def test_korean_forms_with_particles(text, side, term):
    assert (side, term) in terms(text)


@pytest.mark.parametrize("text", ["북러", "북러 관계", "북·러 협력", "북-러", "조러", "조·로"])
def test_korean_both_sides_in_one_word(text):
    assert sides(text) == {"a", "b"}
    assert classify({"title": text}).keep


def test_korean_sentence_is_kept():
    assert classify({"title": "북한은 러시아의 지원을 받아 위성을 발사했다"}).keep


@pytest.mark.parametrize("text", ["판타스틱한 공연", "원산지 표시", "나선형 계단"])
def test_korean_words_that_merely_contain_a_short_name_do_not_count(text):
    # 타스 inside 판타스틱; 원산 (Wonsan) inside 원산지 "origin"; 나선 (Rason) means "spiral"
    assert find_terms(text, "title") == []


# --- traps: must not count ---------------------------------------------------------------------


@pytest.mark.parametrize("title", [
    "Korea's exports to Russia rise",                        # "Korea" alone
    "South Korea and Russia hold talks on fishing",
    "South Korean president meets Putin",
    "Kim Kardashian spotted in Moscow",                      # "Kim" alone
    "Kim said on Tuesday that Russia would respond",
    "Russian doll maker opens a shop in Pyongyang",          # trap phrase on the Russia side
    "Russian roulette: North Korea's latest missile gamble",
    "North Dakota farmers sell wheat to Russia",             # "North" + not Korea
    "Moscow mule cocktails are popular in Pyongyang",
    "한국과 러시아 정상회담",                                 # South Korea and Russia
    "Южная Корея и Россия провели переговоры",               # South Korea and Russia
])
def test_traps_do_not_make_a_story_on_topic(title):
    assert not classify({"title": title}).keep


@pytest.mark.parametrize("text", [
    "Korea", "South Korea", "the Koreas", "Korean War", "Kim", "Kim Kardashian",
    "Russian doll", "Russian dolls", "Russian roulette", "Russian dressing", "Russian blue cat",
    "Moscow mule", "Moscow Idaho", "North Dakota", "North Carolina", "Prussia", "Prussian",
    "tassel", "Russell", "Kimchi",
    "Южная Корея", "Ким", "Кимчхи",
])
def test_trap_words_alone_find_nothing(text):
    # counted matches: "Kim" is a term, but it counts only beside Russia's leaders (context)
    assert classify({"title": text}).matches == ()


def test_moscow_idaho_with_comma_is_a_trap():
    assert find_terms("Students return to Moscow, Idaho", "title") == []


def test_a_trap_phrase_does_not_hide_a_real_term_elsewhere():
    v = classify({"title": "Russian dolls sold as Russia and North Korea sign deal"})
    assert v.keep
    russia = [m for m in v.matches if m.term == "Russia"]
    assert [m.surface for m in russia] == ["Russia"]          # not "Russian" of "Russian dolls"


# --- hyphenated compounds ----------------------------------------------------------------------


@pytest.mark.parametrize("title", [
    "Russia-North Korea ties deepen",
    "North Korea-Russia treaty takes effect",
    "Kim Jong Un-Putin summit ends",
    "Pyongyang-Moscow rail link reopens",
])
def test_hyphenated_pairs_name_both_sides(title):
    assert classify({"title": title}).keep


@pytest.mark.parametrize("text", ["pro-Russian", "anti-Russian"])
def test_prefixed_russian_counts_as_documented(text):
    assert "a" in sides(text)


# --- evidence -----------------------------------------------------------------------------------


def test_matches_carry_term_field_position_and_surface():
    title = "Putin meets Kim Jong Un"
    summary = "The talks in Pyongyang lasted two hours."
    v = classify({"title": title, "summary": summary})
    by_term = {m.term: m for m in v.matches}
    assert by_term["Putin"].field == "title" and by_term["Putin"].position == 0
    assert by_term["Kim Jong Un"].field == "title" and by_term["Kim Jong Un"].position == 12
    assert by_term["Pyongyang"].field == "summary" and by_term["Pyongyang"].position == 13
    fields = {"title": title, "summary": summary}
    for m in v.matches:
        assert fields[m.field][m.position:m.position + len(m.surface)] == m.surface


def test_positions_of_cyrillic_and_hangul_matches_are_character_offsets():
    text = "Визит в Пхеньян: 북한과 러시아"
    for m in find_terms(text, "text"):
        assert text[m.position:].startswith(m.surface)
    assert {m.position for m in find_terms(text, "text")} == {8, 17, 21}


def test_evidence_is_one_plain_dict_per_term_and_field():
    v = classify({"title": "Russia and North Korea: Russia's pact with North Korea",
                  "text": "Russia signed. Pyongyang agreed."})
    full = evidence(v)
    assert full["keep"] and full["score"] == v.score >= 4 and full["close"] == "title"
    ev = full["matches"]
    assert all(set(e) == {"term", "side", "field", "position", "surface"} for e in ev)
    pairs = [(e["term"], e["field"]) for e in ev]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {("Russia", "title"), ("North Korea", "title"), ("Russia", "text"),
                          ("Pyongyang", "text")}
    first_russia = next(e for e in ev if e["term"] == "Russia" and e["field"] == "title")
    assert first_russia["position"] == 0                   # the first occurrence
    assert {e["side"] for e in ev} == {"Russia", "North Korea"}   # readable side names


def test_evidence_of_a_both_sides_word_names_both_sides():
    ev = evidence(classify({"title": "북러 조약"}))["matches"]
    assert {e["side"] for e in ev} == {"Russia", "North Korea"}
    assert all(e["term"] == "북러" and e["position"] == 0 for e in ev)


def test_evidence_of_a_rejected_story_still_explains_what_was_found():
    v = classify({"title": "Kremlin denies report"})
    assert not v.keep
    ev = evidence(v)
    assert not ev["keep"] and "no North Korea term" in ev["reason"]
    assert ev["matches"] == [{"term": "Kremlin", "side": "Russia", "field": "title",
                              "position": 0, "surface": "Kremlin"}]



# --- the score: where and how close the sides are -------------------------------------------


def test_a_passing_mention_far_apart_in_a_long_story_is_rejected():
    text = ("Ukrainian drones struck an oil depot in Russia overnight, officials said.\n"
            "The strike caused a large fire that burned until morning.\n"
            "Elsewhere, analysts said sanctions would be discussed next week.\n"
            "In unrelated news, North Korea held a parade.")
    v = classify({"title": "Drone strike sets oil depot ablaze", "text": text})
    assert not v.keep and v.sides == {"a", "b"} and v.close is None
    assert "passing mention" in v.reason


def test_both_sides_in_one_sentence_of_the_body_is_kept():
    v = classify({"title": "Troops moved to the border region",
                  "text": "Officials said North Korean soldiers were seen near Kursk on Monday. "
                          "More details were not given."})
    assert v.keep and v.close == "sentence"


def test_one_side_in_the_title_and_the_other_in_the_summary_is_kept():
    v = classify({"title": "Putin thanks an ally for its support",
                  "summary": "The message was addressed to Pyongyang."})
    assert v.keep and v.close == "paragraph"


def test_the_title_counts_more_than_the_body():
    title = classify({"title": "Lavrov meets Choe Son Hui"})
    body = classify({"title": "Talks held", "text": "Lavrov met officials.\n\nChoe Son Hui spoke."})
    assert title.score > body.score


def test_a_one_sided_topic_and_a_custom_two_sided_one():
    from monitor.classify import build_topic
    iran = build_topic("Iran", {"Iran": {"Iran": ["Iran", "Iranian", "Иран*", "이란"],
                                         "Tehran": ["Tehran", "Тегеран*"]}})
    assert classify({"title": "Iran tests a new missile"}, iran).keep
    assert not classify({"title": "Iraq tests a new missile"}, iran).keep
    ci = build_topic("China–Iran", {"China": {"China": ["China", "Chinese", "Beijing", "Кита*"]},
                                    "Iran": {"Iran": ["Iran", "Iranian", "Tehran"]}})
    assert classify({"title": "China and Iran hold naval drills"}, ci).keep
    assert not classify({"title": "Russia and North Korea sign a pact"}, ci).keep


@pytest.mark.parametrize("spelling, text, found", [
    ("Kim Jong Un", "Kim Jong-un said", True),
    ("Kim Jong Un", "KIM JONG UN said", True),
    ("Kim Jong Un", "Kim Jong Unification", False),
    ("Росси*", "с Россией", True),
    ("Северн* Коре*", "Северной Кореи", True),
    ("Putin", "Putin's plan", True),
    ("Putin", "Putinism", False),
    ("북한", "북한은", True),
    ("re:n\\.\\s?korea", "N.Korea", True),
])
def test_spellings(spelling, text, found):
    from monitor.classify import compile_spelling
    import re as _re
    assert bool(_re.search(compile_spelling(spelling), text, _re.IGNORECASE)) is found


@pytest.mark.parametrize("spelling", ["", "   ", "*", "re:(unclosed"])
def test_bad_spellings_are_errors(spelling):
    from monitor.classify import compile_spelling
    with pytest.raises(ValueError):
        compile_spelling(spelling)


# --- context: terms that count only in some stories (topic.context) ----------------------------


@pytest.mark.parametrize("fields, keep", [
    ({"title": "Seoul: the North has sent thousands more troops to Kursk"}, True),
    ({"title": "The North's envoy in Moscow", "summary": "South Korea's spy agency says so."}, True),
    # no Korean setting: the North of England, the northern states
    ({"title": "Levelling up the North: Russian investors pull out"}, False),
    ({"title": "Russia gas prices bite in the North", "summary": "Manchester households hit."},
     False),
    # the North Sea is never North Korea
    ({"title": "Seoul and Moscow talk about the North Sea shipping lanes"}, False),
])
def test_the_north_counts_only_in_a_korean_setting(fields, keep):
    assert classify(fields).keep is keep


@pytest.mark.parametrize("title, keep", [
    ("Kim sends Putin New Year greetings, hails 'invincible' alliance", True),
    ("Putin and Kim Sign New Defense Pact", True),
    ("Kim said on Tuesday that Russia would respond", False),          # no Russian leader named
    ("Kim Kardashian posts photo with Putin lookalike", False),
    ("Kim Yong-hyun meets Putin's envoy; Kim said talks were frank", False),   # another Kim
    ("South Korean minister Kim says Putin's visit is not welcome", False),
])
def test_kim_alone_counts_only_beside_russias_leaders_and_no_other_kim(title, keep):
    assert classify({"title": title}).keep is keep


def test_a_term_not_counted_in_context_is_named_in_the_reason():
    v = classify({"title": "University of Idaho in Moscow hosts a North Korean defector"})
    assert not v.keep and "not counted here: Moscow" in v.reason
    assert {m.term for m in v.matches} == {"North Korea"}


def test_the_actress_kim_jung_eun_is_not_kim_jong_un_anywhere_in_her_story():
    v = classify({"title": "배우 김정은, 러시아 영화제 심사위원 위촉",
                  "text": "김정은은 모스크바 국제영화제 심사위원으로 활동한다."})
    assert not v.keep and "not counted here: Kim Jong Un" in v.reason


def test_context_on_a_custom_topic_and_its_errors():
    from monitor.classify import build_topic
    t = build_topic("Cats–Dogs", {"Cats": {"cat": ["cat"]}, "Dogs": {"dog": ["dog"], "pup": ["pup"]}},
                    context={"pup": {"if": ["kennel"]}})
    assert not classify({"title": "A cat and a pup"}, t).keep
    assert classify({"title": "A cat and a pup", "summary": "At the kennel."}, t).keep
    with pytest.raises(ValueError, match="'kitten' is not a term"):
        build_topic("X", {"A": {"a": ["a"]}}, context={"kitten": {"if": ["x"]}})
    with pytest.raises(ValueError, match="'when'"):
        build_topic("X", {"A": {"a": ["a"]}}, context={"a": {"when": ["x"]}})
    with pytest.raises(ValueError, match="context.a.unless: no spellings"):
        build_topic("X", {"A": {"a": ["a"]}}, context={"a": {"unless": []}})


# --- lists of countries ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Neither will Russia, Iran and North Korea.",
    "concern over the nuclear force of the DPRK, Russia, China and other sovereign countries",
    "Treasury sanctions suppliers to Iran, Russia and North Korea",
    "이란, 러시아, 북한 해커 조직 제재",
    "Санкции против Ирана, России и КНДР продлены",
])
def test_an_enumeration_of_three_countries_is_a_list_not_the_story(text):
    v = classify({"title": "World news", "summary": text})
    assert v.close == "list" and not v.keep


@pytest.mark.parametrize("text", [
    "Russia and North Korea sign a treaty, worrying China",
    "North Korea sent troops to Russia; Iran sent drones",
])
def test_both_sides_beside_another_country_but_not_in_an_enumeration_are_not_a_list(text):
    v = classify({"title": "World news", "summary": text})
    assert v.close == "sentence" and v.keep


# --- Korean particles stacked after the one-syllable abbreviations --------------------------------


@pytest.mark.parametrize("text, side", [
    ("러 외무 \"북과의 군사협력은 조약 따른 것\"", "b"),
    ("북에서 온 노동자", "b"),
    ("북측 대표단이 도착했다", "b"),
    ("러와의 협력", "a"),
    ("러에서 열린 회의", "a"),
])
def test_korean_abbreviations_with_stacked_particles(text, side):
    assert side in sides(text)


@pytest.mark.parametrize("text", ["동북측 출입구", "북을 치다가", "에러에서 복구"])
def test_korean_words_around_the_abbreviations_do_not_count(text):
    assert sides(text) == set()     # 북을 "the drum (object)": 을 is deliberately not a particle here


# --- round-ups and rankings: both countries named, neither story about the two --------------------


@pytest.mark.parametrize("fields", [
    {"title": "Главное к утру: решение ЦБ, пуск ракеты КНДР и снегопад в Москве"},
    {"title": "[오늘의 주요뉴스] 러 드론 폴란드 영공 침범·北 순항미사일 발사·코스피 사상 최고"},
    {"title": "[아침 브리핑] 러 드론 폴란드 영공 침범·北 순항미사일 발사"},
    {"title": "Your Thursday Briefing: A Truce in Tigray",
     "summary": "Plus North Korea fired a record number of missiles, and Russia rejoined the deal."},
    {"title": "Olympic medal table: China leads, North Korea wins first medals since 2016",
     "summary": "Athletes from Russia compete as neutrals and are not counted."},
    {"title": "헨리 여권지수 한국 3위…러시아 48위·북한 95위"},
    {"title": "RSF: Россия заняла 171-е место в рейтинге свободы прессы, КНДР — 179-е"},
])
def test_round_ups_and_rankings_naming_both_are_not_kept(fields):
    v = classify(fields)
    assert not v.keep and v.close in ("list", None), v.reason


@pytest.mark.parametrize("fields", [
    {"title": "Pentagon briefing: more North Korean troops head to the front",
     "summary": "Officials said the soldiers would fight alongside Russian units in Kursk."},
    {"title": "합참 브리핑: 북한군 추가 파병", "summary": "합참은 북한이 러시아에 병력을 추가로 보냈다고 밝혔다."},
])
def test_a_press_briefing_is_not_a_round_up(fields):
    assert classify(fields).keep


@pytest.mark.parametrize("title", [
    "Thursday Briefing: Russia and North Korea's Defense Pledge",
    "Ukraine live briefing: Kim Jong Un and Putin plan talks on an arms deal",
    "MSMT briefing shows Russia's support for North Korea's cybercrimes",
    "Россия и КНДР сблизились в 2010-е и 2020-е",       # decades, not ranks
])
def test_a_round_up_item_about_the_two_is_kept(title):
    assert classify({"title": title}).keep


def test_a_story_whose_title_lists_the_countries_is_a_list_throughout():
    v = classify({"title": "Hackers from Russia, China, Iran and North Korea use AI",
                  "text": "Russian groups focused on Ukraine, while North Korean actors targeted "
                          "crypto firms, the report said."})
    assert not v.keep and v.close == "list"


def test_sides_that_meet_only_in_lists_are_a_passing_mention_whatever_the_weights():
    text = "Sanctions hit Iran, Russia and North Korea.\n" * 3
    v = classify({"title": "Sanctions on Iran, Russia, North Korea", "summary": text, "text": text})
    assert v.close == "list" and not v.keep


def test_a_list_sentence_does_not_make_its_paragraph_a_meeting_of_the_sides():
    v = classify({"title": "Weightlifting worlds",
                  "text": "Russian lifters compete as neutrals. The podium: China, Iran and "
                          "North Korea.\nNorth Korean lifters won four golds."})
    assert v.close == "list" and not v.keep


# --- more names of the sides ------------------------------------------------------------------


@pytest.mark.parametrize("text, side", [
    ("Госдума ратифицировала договор с КНДР", "a"),
    ("The Duma ratified the treaty", "a"),
    ("танкеры зашли в порт Восточный", "a"),
    ("'폭풍군단' 일부 귀국", "b"),
])
def test_institutions_places_and_units(text, side):
    assert side in sides(text)


def test_north_without_the_in_a_korean_setting():
    assert classify({"title": "Seoul spy agency says North sent 3,000 more troops to Russia"}).keep
    assert not classify({"title": "Seoul: North Gyeongsang farmers export apples to Russia"}).keep

from firstline.search.tokens import parse_query, spans, stem, tokenize


def test_english_words_are_lowercased_and_plurals_stemmed():
    assert tokenize("My Printers print BATTERIES and boxes") == [
        "printer",
        "print",
        "battery",
        "box",
    ]


def test_stemmer_leaves_short_and_non_plural_words():
    assert [stem(w) for w in ("vpn", "access", "status", "windows", "bus")] == [
        "vpn",
        "access",
        "status",
        "window",
        "bus",
    ]


def test_chinese_becomes_overlapping_bigrams_and_single_characters_stay():
    assert tokenize("打印机无法连接") == ["打印", "印机", "机无", "无法", "法连", "连接"]
    assert tokenize("密码") == ["密码"]
    assert tokenize("网，好") == ["网", "好"]


def test_mixed_text_splits_scripts_and_punctuation():
    assert tokenize("VPN连接失败（Wi-Fi）。") == ["vpn", "连接", "接失", "失败", "wi", "fi", "wifi"]


def test_full_width_letters_and_digits_are_folded():
    assert tokenize("ＰＲＩＮＴＥＲ　１２３") == ["printer", "123"]


def test_numbers_are_words_and_ticket_numbers_are_recognised():
    assert tokenize("Ticket #1042 again") == ["ticket", "1042", "again"]
    assert parse_query("#1042").number == 1042
    assert parse_query("1042").number == 1042
    assert parse_query("printer 1042").number is None


def test_query_chinese_run_is_one_phrase_term_and_one_character_a_prefix():
    query = parse_query("打印机 密 printers")
    assert [(t.tokens, t.prefix) for t in query.terms] == [
        (("打印", "印机"), False),
        (("密",), True),
        (("printer",), False),
    ]


def test_query_drops_common_words_and_punctuation():
    assert [t.tokens for t in parse_query("the printer!!! ， is").terms] == [("printer",)]
    assert not parse_query("?!。，")


def test_prefix_mode_keeps_the_unfinished_last_word():
    query = parse_query("vpn conn", prefix=True)
    assert [(t.tokens, t.prefix) for t in query.terms] == [(("vpn",), False), (("conn",), True)]
    assert parse_query("vpn conn ", prefix=True).terms[-1].prefix is False


def test_spans_find_words_stems_and_chinese_in_the_original_text():
    text = "Two Printers: 打印机无法连接"
    found = [text[a:b] for a, b in spans(text, parse_query("printer 打印机"))]
    assert found == ["Printers", "打印机"]

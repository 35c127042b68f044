from polyvox.cascade.llm import ToolCallFilter, parse_tool_calls
from polyvox.cascade.text import ClauseSplitter, CodeFenceFilter, speakable


def feed_all(splitter: ClauseSplitter, text: str, step: int = 3) -> list[str]:
    out = []
    for i in range(0, len(text), step):
        out += splitter.feed(text[i : i + step])
    return out + splitter.flush()


def test_clauses_split_at_sentences_and_first_comma():
    text = "Well, that is a good question. The capital of France is Paris! Anything else?"
    clauses = feed_all(ClauseSplitter(first_min_chars=4), text)
    assert clauses == ["Well,", "that is a good question.", "The capital of France is Paris!", "Anything else?"]
    assert " ".join(clauses) == text


def test_clauses_other_scripts_and_long_runs():
    assert feed_all(ClauseSplitter(first_max_words=0), "फ्रांस की राजधानी पेरिस है। धन्यवाद।") == [
        "फ्रांस की राजधानी पेरिस है।",
        "धन्यवाद।",
    ]
    long = "word " * 100
    parts = feed_all(ClauseSplitter(max_chars=50, first_max_words=0), long)
    assert all(len(p) <= 50 for p in parts) and " ".join(parts).split() == long.split()


def test_first_clause_is_cut_after_a_few_words():
    text = "The capital of France is Paris and it is a lovely city to visit. Yes."
    clauses = feed_all(ClauseSplitter(first_max_words=5), text)
    assert clauses[0] == "The capital of France is"
    assert clauses[1:] == ["Paris and it is a lovely city to visit.", "Yes."]
    assert feed_all(ClauseSplitter(), text)[0] == "The capital of"  # the default: 3 words (measured fastest)


def test_decimal_point_does_not_split():
    assert feed_all(ClauseSplitter(first_max_words=0), "It costs 3.50 euros. Yes.") == ["It costs 3.50 euros.", "Yes."]


def test_speakable_strips_markup():
    assert (
        speakable("**Paris** is the `capital`. See [this](http://x.y) ```code```") == "Paris is the capital. See this"
    )


def test_tool_calls_tagged_and_bare():
    text, calls = parse_tool_calls('Sure. <tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>')
    assert text == "Sure." and calls[0].name == "f" and calls[0].arguments == {"x": 1}
    text, calls = parse_tool_calls('{"name": "get_weather", "arguments": {"city": "Paris"}}')
    assert text == "" and calls[0].arguments == {"city": "Paris"}
    text, calls = parse_tool_calls("{not json} hello")
    assert calls == [] and text == "{not json} hello"


def test_tool_filter_holds_back_calls():
    f = ToolCallFilter(tools_enabled=True)
    spoken = "".join(f.feed(p) for p in ['{"name": "f", ', '"arguments": {}}']) + f.flush()
    assert spoken == ""
    f = ToolCallFilter(tools_enabled=True)
    spoken = (
        "".join(f.feed(p) for p in ["Hel", "lo <tool", '_call>{"name":"f","arguments":{}}</tool_call> bye']) + f.flush()
    )
    assert spoken == "Hello  bye"
    f = ToolCallFilter(tools_enabled=False)
    assert f.feed("{x} y") + f.flush() == "{x} y"


def test_fenced_tool_call():
    text, calls = parse_tool_calls('```json\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n```')
    assert text == "" and calls[0].name == "calculator"
    f = ToolCallFilter(tools_enabled=True)
    pieces = ["``", "`json\n", '{"name": "calculator", ', '"arguments": {"expression": "2+2"}}', "\n```"]
    assert "".join(f.feed(p) for p in pieces) + f.flush() == ""
    f = ToolCallFilter(tools_enabled=True)
    assert "".join(f.feed(p) for p in ["Sure", ", four."]) + f.flush() == "Sure, four."


def test_code_fences_are_not_spoken():
    f = CodeFenceFilter()
    pieces = ["Here it is:", " `", "``py", "thon\ndef f():\n    return 1\n`", "``", " Call f."]
    spoken = "".join(f.feed(p) for p in pieces) + f.flush()
    assert " ".join(spoken.split()) == "Here it is: (the code is in the transcript) Call f."
    f = CodeFenceFilter()
    assert f.feed("use `x` here") + f.flush() == "use `x` here"


def test_tool_results_reach_the_llm_as_words():
    from polyvox.cascade.context import build_messages, result_words
    from polyvox.engine import Message

    assert result_words('{"expression": "2 + 3", "result": 5}') == "expression 2 + 3, result 5"
    assert result_words('{"text": "5 miles is 8.05 kilometres", "result": 8.05}') == "5 miles is 8.05 kilometres"
    assert result_words("[1, 2]") == "[1, 2]" and result_words("not json") == "not json"
    history = [Message("user", "What is 2 plus 3?"), Message("tool", '{"from_unit": "mile", "result": 5}', name="calc")]
    msgs = build_messages("sys", history, "")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "The calc tool gave: from unit mile, result 5." in msgs[1]["content"]


def test_a_long_conversation_loses_its_oldest_turns_in_blocks():
    from polyvox.cascade.context import fit_history
    from polyvox.engine import Message

    def dialogue(n: int) -> list[Message]:
        return [m for i in range(n) for m in (Message("user", f"question {i}"), Message("assistant", f"answer {i}"))]

    fits = lambda h: len(h) <= 2 * 20  # noqa: E731 - room for 20 exchanges
    assert fit_history(dialogue(20), fits, block=8) == dialogue(20)  # fits: unchanged
    firsts = []
    for n in range(21, 40):
        kept = fit_history(dialogue(n), fits, block=8)
        assert fits(kept) and kept == dialogue(n)[-len(kept) :] and kept[0].role == "user"
        firsts.append(kept[0].content)
    # the prompt's start moves 8 turns at a time, not on every turn (llama.cpp re-evaluates from there)
    assert firsts == ["question 8"] * 8 + ["question 16"] * 8 + ["question 24"] * 3
    assert fit_history(dialogue(30), lambda h: False, block=8) == []
    # room for one exchange only: the cuts 8 turns at a time all overshoot, the last exchange is kept
    assert fit_history(dialogue(30), lambda h: len(h) <= 2, block=8) == dialogue(30)[-2:]
    tool_turn = [*dialogue(30), Message("tool", "{}", name="calc")]
    assert fit_history(tool_turn, lambda h: False, block=8, keep_last=True) == tool_turn[-3:]


def test_what_changes_per_turn_comes_after_the_dialogue():
    """llama.cpp re-evaluates a prompt from the first token that differs from the previous prompt: the
    mood, memory, speaker and language of a turn must not sit in front of the dialogue."""
    from polyvox.cascade.context import build_messages, build_system, turn_note
    from polyvox.engine import Message

    system = build_system()
    history = [Message("user", "Hi"), Message("assistant", "Hello!")]
    first = build_messages(system, history, "I lost my keys.", turn_note("en", mood="The user sounds sad."))
    history += [Message("user", "I lost my keys."), Message("assistant", "Oh no, let us look for them.")]
    second = build_messages(system, history, "Found them!", turn_note("de", mood="The user sounds happy."))
    assert second[:3] == first[:3]  # system + the earlier exchange: the same, so still cached
    assert first[3] == {"role": "user", "content": "(Always answer in English. The user sounds sad.)\nI lost my keys."}
    assert second[-1] == {"role": "user", "content": "(Always answer in German. The user sounds happy.)\nFound them!"}
    assert len(second) == 6 and second[3] == {"role": "user", "content": "I lost my keys."}
    assert "sad" not in system and "English" not in system


def test_tools_are_ranked_by_the_words_they_share_with_the_request():
    from polyvox.cascade.toolgate import rank_tools

    def tool(name: str, description: str) -> dict:
        return {"type": "function", "function": {"name": name, "description": description}}

    tools = [tool("list_files", "List the files in a directory"), tool("move_file", "Move a file to another folder"),
             tool("send_email", "Send an email message"), tool("make_directory", "Create a new directory")]  # fmt: skip
    ranked = [t["function"]["name"] for t in rank_tools("Please move that file into the temp folder", tools)]
    assert ranked == ["move_file", "list_files", "send_email", "make_directory"]  # 3 words shared; 0 keep order
    ranked = [t["function"]["name"] for t in rank_tools("Create a directory and move it there", tools)]
    assert ranked == ["move_file", "make_directory", "list_files", "send_email"]  # "move" is one tool's name
    assert [t["function"]["name"] for t in rank_tools("", tools)] == [t["function"]["name"] for t in tools]
    # a follow-up's own words first, then the previous request's ("send it as an email" after "list the files")
    ranked = [t["function"]["name"] for t in rank_tools("And send it as an email", tools, "list the files")]
    assert ranked == ["send_email", "list_files", "move_file", "make_directory"]


def test_a_rare_word_of_a_tools_name_or_parameters_outranks_words_many_tools_share():
    from polyvox.cascade.toolgate import rank_tools

    tags = {"type": "object", "properties": {"tags": {"type": "array", "description": "hashtags to add"}}}

    def tool(name: str, description: str, **more: dict) -> dict:
        return {"type": "function", "function": {"name": name, "description": description, **more}}

    tools = [tool("list_files", "List the files in the current directory"),
             tool("copy_file", "Copy a file in the current directory"), tool("sort", "Sort the lines of a file"),
             tool("post_tweet", "Post a message", parameters=tags)]  # fmt: skip
    names = lambda text: [t["function"]["name"] for t in rank_tools(text, tools)]  # noqa: E731
    # "current" and "directory" are in two tools; "sort" names one (a plain count of shared words: a tie)
    assert names("Sort the lines of report.txt in the current directory")[0] == "sort"
    # "tweets" meets post_tweet's name on its stem, "hashtags" is in its parameters
    assert names("Write tweets with the hashtags fun and sun")[0] == "post_tweet"


def test_words_said_twice_keep_each_turns_note():
    """A line said twice with different moods is rendered each time as its own turn evaluated it, so the prompt
    stays append-only (llama.cpp's cache holds)."""
    from polyvox.cascade.context import build_messages, with_note
    from polyvox.cascade.state import CascadeState
    from polyvox.engine import Message

    state = CascadeState(language=None)  # type: ignore[arg-type]
    state.remember_rendered("Thanks.", with_note("calm", "Thanks."))
    state.remember_rendered("Thanks.", with_note("happy", "Thanks."))
    history = [Message("user", "Thanks."), Message("assistant", "You're welcome."), Message("user", "Thanks.")]
    history.append(Message("assistant", "Any time."))
    msgs = build_messages("sys", history, "Bye.", "", state.rendered)
    users = [m["content"] for m in msgs if m["role"] == "user"]
    assert users == ["(calm)\nThanks.", "(happy)\nThanks.", "Bye."]
    msgs = build_messages("sys", history[2:], "Bye.", "", state.rendered)  # the older one left the prompt
    assert [m["content"] for m in msgs if m["role"] == "user"] == ["(happy)\nThanks.", "Bye."]

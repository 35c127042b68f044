"""Optional LLM judge (--judge): the local GGUF chat model rates an answer 0-10 against a question.

It is the same small model the cascade answers with (Qwen2.5-0.5B by default, $POLYVOX_LLM_MODEL
to use a stronger local GGUF), so it is a weak, biased judge of its own kind of output: its scores
are reported beside the transparent rubrics, never instead of them. Temperature 0: reproducible.
"""

from __future__ import annotations

import functools
import re

PROMPT = (
    "You grade answers. {criterion}\n\nQuestion: {question}\n\nAnswer: {answer}\n\n"
    "Reply with one integer from 0 (bad) to 10 (excellent) and nothing else."
)


@functools.cache
def _llm():
    from polyvox.cascade.llm import LlamaLLM, LlmOptions

    return LlamaLLM(options=LlmOptions(temperature=0.0))


def judge(question: str, answer: str, criterion: str) -> float | None:
    """0..1 score, or None when the model's reply holds no number."""
    msg = PROMPT.format(criterion=criterion, question=question[:1500], answer=answer[:1500] or "(no answer)")
    out = _llm().chat([{"role": "user", "content": msg}], max_tokens=4)
    m = re.search(r"\d+", out)
    return min(int(m.group()), 10) / 10 if m else None

#!/usr/bin/env python3
"""Writes expected_renders.json: what transformers' apply_chat_template renders (the same Jinja
environment: sandboxed, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson without
HTML escaping) for the real templates in ../shared/models and for small snippets. A developer tool:
needs python3-jinja2 (Debian package); the tests read the committed JSON, not Python.

    tests/chat/make_expected.py > tests/chat/expected_renders.json
"""
import json
import os
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

here = os.path.dirname(os.path.abspath(__file__))
models = os.path.join(here, "..", "..", "..", "shared", "models")


def raise_exception(message):
    raise ValueError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception


def special_tokens(config):
    out = {}
    for key in ["bos_token", "eos_token", "unk_token", "pad_token", "cls_token", "sep_token", "mask_token"]:
        v = config.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if v:
            out[key] = v
    return out


def render(source, messages, add_generation_prompt, extra, tokens):
    return env.from_string(source).render(messages=messages, tools=None, documents=None,
                                          add_generation_prompt=add_generation_prompt, **extra, **tokens)


M = lambda role, content: {"role": role, "content": content}
conversations = {
    "one_user": [M("user", "Hello")],
    "system_user": [M("system", "You are brief."), M("user", "Tell me a story.")],
    "three_turns": [M("system", "Be kind."), M("user", "  Hi there \n"), M("assistant", "Hello! How can I help?"),
                    M("user", "Why is the sky blue?"), M("assistant", "Rayleigh scattering."), M("user", "Thanks \u00e9\u4e2d\U0001F600")],
    "thinking_history": [M("user", "2+2?"), M("assistant", "<think>\nadd them\n</think>\n\n4"), M("user", "3+3?"),
                         M("assistant", "<think>\nagain\n</think>\n\n6")],
    "tool_messages": [M("user", "Weather?"), M("assistant", "Let me check."), M("tool", "sunny"), M("tool", "20C"),
                      M("user", "<tool_response>x</tool_response>")],
}
cases = []
for model in ["llama3-random", "qwen2-random", "qwen3-random", "qwen3moe-random"]:
    config = json.load(open(os.path.join(models, model, "tokenizer_config.json")))
    for name, messages in conversations.items():
        for gen in [True, False]:
            extras = [{}] + ([{"enable_thinking": False}] if model.startswith("qwen") and gen else [])
            for extra in extras:
                try:
                    expected = render(config["chat_template"], messages, gen, extra, special_tokens(config))
                except Exception as e:  # the template refuses this conversation
                    expected = None
                cases.append({"model": model, "conversation": name, "messages": messages,
                              "add_generation_prompt": gen, "extra": extra, "expected": expected})

snippets = [
    ("{% for i in [1,2] %}{% if i == 1 %}{% set x = 5 %}{% endif %}[{{ x }}]{% endfor %}{{ x }}", {}),
    ("{{ 1.0 }} {{ none }} {{ true }} {{ [1,'a',none] }} {{ {'a':1} }} {{ 1/2 }} {{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }}", {}),
    ("  {% if true %}\n  a\n  {% endif %}\n b", {}),
    ("{{ 'abc'[::-1] }} {{ [1,2,3][-1] }} {{ 'a,b'.split(',') }} {{ ' a  b '.split() }} {{ 'abcdef'[1:4] }}", {}),
    ("{{ 'x' ~ none ~ 1 ~ y }}", {}),
    ("{{ True == 1 }} {{ 1 == 1.0 }} {{ 'a' in 'cab' }} {{ 2 not in [1, 3] }}", {}),
    ("{{ \"it's\" }} {{ [\"it's\", 'a\"b', 'x'] }}", {}),
    ("{{ {'a': [1, 'x', none, true, 1.5], 'b': {'c': '\"\\n'}}|tojson }}", {}),
    ("{{ {'a': [1, 2]}|tojson(indent=2) }}", {}),
    ("{% set ns = namespace(a=1) %}{% for i in [1,2] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}", {}),
    ("{{ 'a' 'b' }}|{{ 1 if false }}|{{ (1,2) }}|{{ 'yes' if x is defined else 'no' }}", {}),
    ("{%- for m in messages -%}\n  {{- m.role }}:{{ m['content'] | trim }};\n{%- endfor %}\n", {"messages": [M("user", " a "), M("bot", "b")]}),
    ("{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ x }} {% endfor %}", {}),
    ("{% for x in [] %}a{% else %}empty{% endfor %}|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}", {}),
    ("{% for x in [1,2,3] if x > 1 %}{{ loop.index0 }}:{{ x }}/{{ loop.length }} {% endfor %}", {}),
    ("{{ 'Hello World'|upper }} {{ 'ABC'|lower }} {{ 'hello world'|title }} {{ 'hELLO'|capitalize }} {{ [1,2,3]|length }} {{ 'abc'|length }}", {}),
    ("{{ x|default('d') }} {{ ''|default('e', true) }} {{ [1,2]|join(', ') }} {{ [3,4]|first }} {{ [3,4]|last }} {{ 'ab'|list }}", {}),
    ("{{ '  pad  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}|{{ 'hi  '.rstrip() }}|{{ 'abc'.startswith(('x', 'a')) }}", {}),
    ("{{ 'a-b-c'.split('-', 1) }} {{ 'a b'.replace(' ', '_') }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }}", {}),
    ("{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }} {{ x is undefined }} {{ true is true }} {{ 0 is false }}", {}),
    ("{{ 2 ** 10 }} {{ 10 - 3 * 2 }} {{ (10 - 3) * 2 }} {{ 7 % 3 }} {{ 1.5 + 1 }} {{ -3 }} {{ not true }} {{ 1 < 2 }} {{ 'a' < 'b' }}", {}),
    ("{{ [1, 2] + [3] }} {{ 'ab' * 3 }} {{ 0 or 'x' }} {{ 1 and 'y' }} {{ none or [] }}", {}),
    ("{% set s %}block {{ 1 + 1 }}{% endset %}[{{ s }}]", {}),
    ("{# a comment #}\n{%- set a = 1 -%}\n   {{ a }}  \n{#- trailing -#}\n  x", {}),
    ("{{ users|selectattr('active')|map(attribute='name')|join(',') }}|{{ users|rejectattr('name', 'equalto', 'b')|map(attribute='name')|list }}",
     {"users": [{"name": "a", "active": True}, {"name": "b", "active": False}, {"name": "c", "active": True}]}),
    ("{{ d.get('a') }} {{ d.get('z', 'none') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d|items|list }}", {"d": {"a": 1, "b": 2}}),
    ("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ [1,2,3][1:] }} {{ messages[0]['role'] if messages else 'none' }}", {}),
    ("{{ '\\u00e9\\x41\\t|' }}{{ 'caf\u00e9'|length }}{{ '\U0001F600ab'[1:] }}", {}),
    ("a\n{% if true %}\nb\n{% endif %}\nc\n", {}),
    ("{%+ if true %}x{% endif +%}\n  {%- if true %}y{% endif %}", {}),
    ("{{ 3.0 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ 1e-5 }} {{ 123456789.0 * 1e10 }}", {}),
]
snippet_cases = []
for source, variables in snippets:
    try:
        expected = env.from_string(source).render(messages=variables.get("messages", []), tools=None, documents=None,
                                                  add_generation_prompt=False,
                                                  **{k: v for k, v in variables.items() if k != "messages"})
    except Exception as e:
        print("snippet failed: %r: %s" % (source, e), file=sys.stderr)
        raise
    snippet_cases.append({"template": source, "variables": variables, "expected": expected})

json.dump({"generator": "tests/chat/make_expected.py (jinja2 %s)" % __import__("jinja2").__version__,
           "templates": cases, "snippets": snippet_cases}, sys.stdout, ensure_ascii=False, indent=1)
print()

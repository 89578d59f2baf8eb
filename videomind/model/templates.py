"""Conversation templates: the chat template the base model renders with, and how training finds the replies.

``QWEN2_VL_CHAT_TEMPLATE`` is the stock Qwen2-VL-Instruct template (an interface constant of the base model,
shipped in every checkpoint as ``chat_template.json``). The registry maps a ``conv_type`` (the released config says
``chatml``) to the markers label masking needs: everything up to and including an assistant header is context, the
reply and its closing ``<|im_end|>`` are supervised.
"""

from __future__ import annotations

from dataclasses import dataclass

QWEN2_VL_CHAT_TEMPLATE = "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

# What Qwen3-VL's chat template renders for VideoMind's messages: the same turns without a default system message.
# (The real template also handles tools and reasoning content; checkpoints ship it and it is used as is. This one
# stands in for it in the tiny test models.)
QWEN3_VL_CHAT_TEMPLATE = QWEN2_VL_CHAT_TEMPLATE.replace(
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}",
    "",
)


@dataclass(frozen=True)
class ConversationTemplate:
    name: str
    chat_template: str
    assistant_header: str  # text that opens an assistant reply
    turn_end: str  # text that closes a turn (supervised at the end of a reply)
    default_system: str


TEMPLATES: dict[str, ConversationTemplate] = {
    "chatml": ConversationTemplate(
        name="chatml",
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
        assistant_header="<|im_start|>assistant\n",
        turn_end="<|im_end|>",
        default_system="You are a helpful assistant.",
    ),
}


def get_template(name: str) -> ConversationTemplate:
    if name not in TEMPLATES:
        raise ValueError(f"unknown conversation template {name!r}; known: {sorted(TEMPLATES)}")
    return TEMPLATES[name]

"""Seed 003's Image-Text Alignment Module (§3.2): image attention, text attention and the contrastive loss of eq. 1.

* ``ImageAttention``: N_q learnable queries (N_q x H_d), a self-attention layer over them, a
  cross-attention layer from them to the backbone's spatial tokens H^I (S_d x V_d), a feed-forward
  layer to F^I (N_q x E_d). The only part used on devices and at scoring (as the paper at inference).
* ``TextAttention``: token embedding (+ positions), a self-attention layer, mean over the tokens
  ("dimension reduction") and a feed-forward layer to F^T (E_d) - trained from scratch on a
  vocabulary of the generator's captions (``data/synth/captions.py``), standing in for CLIP's.
* ``similarity``: the cosine similarity of every query of F^I with F^T, the maximum over queries kept.
* ``contrastive_loss`` (eq. 1): per sentence group n (action, appearance), the B x B similarities
  over a temperature; cross-entropy from each image to the sentences and from each sentence to the
  images, averaged over both directions, groups and the batch. y and w are one-hot in the paper;
  here several crops of a batch may carry the same caption, so the target puts equal mass on every
  identical sentence (a decision; with distinct captions it is the paper's one-hot).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ImageAttention(nn.Module):
    def __init__(self, visual_dim: int, hidden: int = 32, queries: int = 4, embed: int = 16, heads: int = 2):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(queries, hidden) * 0.02)
        self.self_attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.kv = nn.Linear(visual_dim, hidden)
        self.cross_attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(nn.Linear(hidden, hidden * 2), nn.GELU(), nn.Linear(hidden * 2, embed))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """F^I (B, N_q, E_d) of backbone tokens (B, S_d, V_d)."""
        q = self.queries.expand(len(tokens), -1, -1)
        q = self.norm1(q + self.self_attn(q, q, q, need_weights=False)[0])
        kv = self.kv(tokens)
        z = self.norm2(q + self.cross_attn(q, kv, kv, need_weights=False)[0])
        return self.ffn(z)


class TextAttention(nn.Module):
    def __init__(self, vocab: int, hidden: int = 32, embed: int = 16, heads: int = 2, max_len: int = 8):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(max_len, hidden))
        self.self_attn = nn.TransformerEncoderLayer(hidden, heads, hidden * 2, dropout=0.0, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, embed))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """F^T (B, E_d) of token ids (B, S_t), 0 = padding."""
        pad = tokens == 0
        z = self.self_attn(self.embedding(tokens) + self.position[: tokens.shape[1]], src_key_padding_mask=pad)
        keep = (~pad).float()[..., None]
        return self.ffn((z * keep).sum(1) / keep.sum(1).clamp_min(1))


def similarity(image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """(B_i, B_t): max over the N_q queries of the cosine similarity of image features (B_i, N_q, E) and texts (B_t, E)."""
    return torch.einsum("iqe,te->iqt", F.normalize(image, dim=-1), F.normalize(text, dim=-1)).amax(1)


def contrastive_loss(
    image: torch.Tensor, texts: list[torch.Tensor], same: list[torch.Tensor], temperature: float = 0.07
) -> torch.Tensor:
    """Eq. 1. image (B, N_q, E); texts: one (B, E) per sentence group; same: per group a (B, B) bool,
    True where sentence c is the sentence of image i (the diagonal, and identical captions)."""
    total = image.new_zeros(())
    for text, pos in zip(texts, same):
        logits = similarity(image, text) / temperature
        y = pos.float() / pos.float().sum(1, keepdim=True)  # image i -> sentences c
        w = pos.T.float() / pos.T.float().sum(1, keepdim=True)  # sentence c -> images i
        total = total - (y * logits.log_softmax(1)).sum() - (w * logits.T.log_softmax(1)).sum()
    return total / (2 * len(texts) * len(image))

"""Mask layers: VMASK expectation at eval, gradients through the Gumbel sample,
regularisers over real tokens only, IBA's KL in closed form, L2X's top-k."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from core.models.masks import InformationBottleneckMask, L2XMask, NoMask, VariationalWordMask


@pytest.fixture
def embeddings():
    torch.manual_seed(0)
    emb = torch.randn(2, 4, 6)
    token_mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    return emb, token_mask


def test_vmask_eval_multiplies_by_expectation(embeddings):
    emb, token_mask = embeddings
    layer = VariationalWordMask(6, hidden_dim=5).eval()
    out = layer(emb, token_mask)
    keep = torch.softmax(layer.inference(emb), -1)[..., 1]
    expected = torch.where(token_mask, keep, torch.ones_like(keep)).unsqueeze(-1) * emb
    assert torch.allclose(out.masked, expected)
    assert torch.equal(layer(emb, token_mask).masked, out.masked)  # no sampling at eval
    assert torch.allclose(out.importance, keep * token_mask)


def test_vmask_training_samples_and_passes_gradients(embeddings):
    emb, token_mask = embeddings
    layer = VariationalWordMask(6, hidden_dim=5).train()
    torch.manual_seed(1)
    first = layer(emb, token_mask).masked
    second = layer(emb, token_mask).masked
    assert not torch.allclose(first, second)  # a fresh Gumbel sample each call
    ratio = (first / emb)[token_mask]
    assert ((ratio > 0) & (ratio < 1)).all()  # relaxed samples lie strictly inside (0, 1)
    first.sum().backward()
    grads = [p.grad for p in layer.inference.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_vmask_entropy_term_ignores_padding(embeddings):
    emb, token_mask = embeddings
    layer = VariationalWordMask(6, hidden_dim=5).eval()
    reg = layer(emb, token_mask).regularizer
    probs = torch.softmax(layer.inference(emb), -1)
    neg_entropy = (probs * probs.log()).sum(-1)
    assert torch.allclose(reg, neg_entropy[token_mask].mean())
    changed = emb.clone()
    changed[~token_mask] = 100.0  # whatever sits at padding must not matter
    assert torch.allclose(layer(changed, token_mask).regularizer, reg)
    assert torch.equal(layer(changed, token_mask).masked[~token_mask], changed[~token_mask])
    # -H is at least -log 2 (the uniform Bernoulli(0.5) has the largest entropy)
    assert reg >= -math.log(2) - 1e-6


def test_iba_kl_matches_closed_form(embeddings):
    emb, token_mask = embeddings
    layer = InformationBottleneckMask(6, hidden_dim=5).eval()
    mean, std = torch.linspace(-0.5, 0.5, 6), torch.linspace(0.5, 2.0, 6)
    layer.set_feature_statistics(mean, std)
    out = layer(emb, token_mask)
    lam = torch.sigmoid(layer.readout(emb)).squeeze(-1)
    standardised = (emb - mean) / std
    posterior = Normal(lam.unsqueeze(-1) * standardised, (1 - lam).unsqueeze(-1).expand_as(emb))
    kl = kl_divergence(posterior, Normal(torch.zeros_like(emb), torch.ones_like(emb))).sum(-1)
    assert torch.allclose(out.regularizer, kl[token_mask].mean(), atol=1e-5)
    expected = lam.unsqueeze(-1) * emb + (1 - lam.unsqueeze(-1)) * mean
    assert torch.allclose(out.masked[token_mask], expected[token_mask], atol=1e-6)


def test_l2x_eval_keeps_exactly_top_k_words():
    torch.manual_seed(0)
    layer = L2XMask(6, hidden_dim=5, k=2).eval()
    emb = torch.randn(1, 5, 6)
    token_mask = torch.tensor([[True, True, True, True, False]])
    out = layer(emb, token_mask)
    scores = layer.scorer(emb).squeeze(-1)[0, :4]
    top = set(scores.topk(2).indices.tolist())
    kept = {i for i in range(4) if torch.equal(out.masked[0, i], emb[0, i])}
    dropped = {i for i in range(4) if torch.all(out.masked[0, i] == 0)}
    assert kept == top and dropped == {0, 1, 2, 3} - top
    layer.train()
    relaxed = layer(emb, token_mask).masked
    relaxed.sum().backward()
    assert layer.scorer[0].weight.grad.abs().sum() > 0


def test_no_mask_is_identity(embeddings):
    emb, token_mask = embeddings
    out = NoMask()(emb, token_mask)
    assert out.masked is emb and out.importance is None and float(out.regularizer) == 0.0

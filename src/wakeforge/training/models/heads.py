"""openWakeWord-compatible classifier heads: ``[B, 16, 96]`` embeddings -> ``[B, 1]`` score.

Heads hold no device, optimizer or metric state (that lives in the LightningModule), so export
and evaluation use them directly. The sigmoid is part of the head, as in openWakeWord's exported
models, whose ONNX output is a probability.
"""

from __future__ import annotations

import torch
from torch import nn


def _dnn(n_frames: int, embedding_dim: int, layer_size: int, n_blocks: int, dropout: float = 0.0) -> nn.Sequential:
    # Dropout layers only when asked for: they hold no weights, but they shift the Sequential's
    # indices, and heads trained without them must keep their state-dict names.
    def drop() -> list[nn.Module]:
        return [nn.Dropout(dropout)] if dropout > 0 else []

    layers: list[nn.Module] = [
        nn.Flatten(),
        nn.Linear(n_frames * embedding_dim, layer_size),
        nn.LayerNorm(layer_size),
        nn.ReLU(),
        *drop(),
    ]
    for _i in range(n_blocks):
        layers += [nn.Linear(layer_size, layer_size), nn.LayerNorm(layer_size), nn.ReLU(), *drop()]
    layers += [nn.Linear(layer_size, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def dnn_option_problems(n_members: object = 1, dropout: object = 0.0) -> list[str]:
    """Messages for out-of-range dnn head options (the constructor raises the first; stage 3's
    preflight reports them before stage 1 starts)."""
    out = []
    try:
        bad_members = int(n_members) < 1  # type: ignore[call-overload]
    except (TypeError, ValueError):
        bad_members = True
    if bad_members:
        out.append(f"model.head.n_members={n_members} must be >= 1")
    try:
        d = float(dropout)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out.append(f"model.head.dropout={dropout!r} must be a number in [0, 1)")
    else:
        if not 0.0 <= d < 1.0:
            out.append(f"model.head.dropout={d} must be in [0, 1)")
    return out


class DNNHead(nn.Module):
    """Flatten -> (Linear + LayerNorm + ReLU) x ``n_blocks`` -> Linear -> sigmoid.

    With ``n_members > 1`` the head is an ensemble of that many such networks (different
    initialisations, each trained on its own loss, see
    :meth:`~wakeforge.training.models.lit_module.WakeWordLitModule.training_step`) whose probabilities
    are averaged: one network's idiosyncratic false accepts on speech it never saw are
    rarely shared by the others. The exported model is still one ``[1, 16, 96] -> [1, 1]``
    graph of builtin ops that openWakeWord loads unchanged.

    Args:
        n_frames: embedding frames per window (16 = 1.28 s).
        embedding_dim: values per frame (96).
        layer_size: hidden width of each member (openWakeWord: layer_size).
        n_blocks: hidden blocks after the first projection.
        n_members: networks averaged (1: openWakeWord's plain dnn head).
        dropout: share of hidden units zeroed after each block while training (0: none);
            inactive in evaluation and absent from the exported graph's arithmetic.

    Example:
        >>> DNNHead()(torch.zeros(2, 16, 96)).shape
        torch.Size([2, 1])
        >>> DNNHead(n_members=3).member_outputs(torch.zeros(2, 16, 96)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        n_frames: int = 16,
        embedding_dim: int = 96,
        layer_size: int = 32,
        n_blocks: int = 1,
        n_members: int = 1,
        dropout: float = 0.0,
        **_: object,
    ) -> None:
        super().__init__()
        problems = dnn_option_problems(n_members, dropout)
        if problems:
            from wakeforge.core.errors import ConfigError

            raise ConfigError(problems[0])
        dropout = float(dropout)
        self.n_frames = n_frames
        self.embedding_dim = embedding_dim
        self.n_members = int(n_members)
        if self.n_members == 1:
            self.net = _dnn(n_frames, embedding_dim, layer_size, n_blocks, dropout)
        else:
            self.members = nn.ModuleList(
                _dnn(n_frames, embedding_dim, layer_size, n_blocks, dropout) for _ in range(self.n_members)
            )

    def member_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, n_members]`` probabilities of each member network."""
        if self.n_members == 1:
            return self.net(x)
        return torch.cat([m(x) for m in self.members], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, n_frames, embedding_dim]`` float32 -> ``[B, 1]`` probabilities."""
        if self.n_members == 1:
            return self.net(x)
        return self.member_outputs(x).mean(dim=1, keepdim=True)


class RNNHead(nn.Module):
    """Bidirectional LSTM over frames -> Linear on the last step -> sigmoid (openWakeWord's rnn).

    Example:
        >>> RNNHead()(torch.zeros(2, 16, 96)).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        n_frames: int = 16,
        embedding_dim: int = 96,
        hidden_size: int = 64,
        num_layers: int = 2,
        bidirectional: bool = True,
        **_: object,
    ) -> None:
        super().__init__()
        self.n_frames = n_frames
        self.embedding_dim = embedding_dim
        self.lstm = nn.LSTM(
            embedding_dim, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), 1)
        self.act = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.act(self.out(y[:, -1]))

"""openWakeWord-compatible classifier heads: ``[B, 16, 96]`` embeddings -> ``[B, 1]`` score.

Heads hold no device, optimizer or metric state (that lives in the LightningModule), so export
and evaluation use them directly. The sigmoid is part of the head, as in openWakeWord's exported
models, whose ONNX output is a probability.
"""

from __future__ import annotations

import torch
from torch import nn


class DNNHead(nn.Module):
    """Flatten -> (Linear + LayerNorm + ReLU) x ``n_blocks`` -> Linear -> sigmoid.

    Args:
        n_frames: embedding frames per window (16 = 1.28 s).
        embedding_dim: values per frame (96).
        layer_size: hidden width (openWakeWord: layer_size).
        n_blocks: hidden blocks after the first projection.

    Example:
        >>> DNNHead()(torch.zeros(2, 16, 96)).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        n_frames: int = 16,
        embedding_dim: int = 96,
        layer_size: int = 32,
        n_blocks: int = 1,
        **_: object,
    ) -> None:
        super().__init__()
        self.n_frames = n_frames
        self.embedding_dim = embedding_dim
        layers: list[nn.Module] = [
            nn.Flatten(),
            nn.Linear(n_frames * embedding_dim, layer_size),
            nn.LayerNorm(layer_size),
            nn.ReLU(),
        ]
        for _i in range(n_blocks):
            layers += [nn.Linear(layer_size, layer_size), nn.LayerNorm(layer_size), nn.ReLU()]
        layers += [nn.Linear(layer_size, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, n_frames, embedding_dim]`` float32 -> ``[B, 1]`` probabilities."""
        return self.net(x)


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

"""Completion parsing and rewards for Sim-RL (STAR's similarity reward and baselines)."""

from fctrain.rewards.exact_match_reward import exact_match_reward, exact_match_rewards
from fctrain.rewards.format_reward import format_reward, format_rewards
from fctrain.rewards.parsing import ParsedCompletion, format_tool_calls, parse_completion
from fctrain.rewards.registry import REWARDS, combine_rewards
from fctrain.rewards.result import RewardResult
from fctrain.rewards.rouge import rouge_l_f1
from fctrain.rewards.similarity_reward import similarity_reward, similarity_rewards
from fctrain.rewards.toolrl_reward import toolrl_reward, toolrl_rewards

__all__ = [
    "REWARDS", "ParsedCompletion", "RewardResult", "combine_rewards", "exact_match_reward",
    "exact_match_rewards", "format_reward", "format_rewards", "format_tool_calls", "parse_completion",
    "rouge_l_f1", "similarity_reward", "similarity_rewards", "toolrl_reward", "toolrl_rewards",
]

"""The teacher side of CKD: rollouts (fctrain.teacher.rollouts) and the top-k cache (docs/teacher_cache.md)."""

from fctrain.teacher.rollouts import rollout_teacher
from fctrain.teacher.targets import encode_sample, token_hash, vocab_fingerprint
from fctrain.teacher.teacher_cache import OnlineTeacher, TeacherCache, cache_teacher

__all__ = ["OnlineTeacher", "TeacherCache", "cache_teacher", "encode_sample", "rollout_teacher", "token_hash",
           "vocab_fingerprint"]

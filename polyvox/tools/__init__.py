"""Function calling: Python functions the LLM can call by voice, with JSON schemas, validation and timeouts.

from polyvox.tools import default_registry, tool

registry = default_registry()             # get_time, calculator, convert_units (+ memory tools)
Turn(..., tools=registry.schemas())       # the LLM sees them
outcome = registry.run_call(tool_call)    # ToolOutcome(output_json, error, ms); never raises
history += outcome.messages(tool_call)    # continue the turn from the result
"""

from polyvox.tools.builtins import builtin_tools, default_registry, memory_tools
from polyvox.tools.registry import Tool, ToolError, ToolOutcome, ToolRegistry, load_tools_module, tool
from polyvox.tools.schema import function_schema, validate

__all__ = [
    "Tool",
    "ToolError",
    "ToolOutcome",
    "ToolRegistry",
    "builtin_tools",
    "default_registry",
    "function_schema",
    "load_tools_module",
    "memory_tools",
    "tool",
    "validate",
]

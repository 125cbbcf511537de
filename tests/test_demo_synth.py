from __future__ import annotations

from local.demo.synth import node_end_of_life_notice

# What `cdk synth` printed on Node 20 with aws-cdk-lib 2.275 (jsii's banner, one bytes repr a line).
BANNER = "\n".join(
    [
        "b'!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\\n'",
        "b'!!  Node 20 is end-of-life and not supported anymore by this software since 2026-10-30.  !!\\n'",
        "b'!!  - ^24.0.0 (Planned end-of-life: 2028-04-30)                                          !!\\n'",
        "Successfully synthesized to cdk.out",
    ]
)


def test_the_demo_shows_jsiis_end_of_life_banner_as_one_line() -> None:
    assert node_end_of_life_notice(BANNER) == (
        "Node 20 is end-of-life and not supported anymore by this software since 2026-10-30. "
        "(CDK supports Node 22 and 24)"
    )


def test_a_synth_on_a_supported_node_has_no_notice() -> None:
    assert node_end_of_life_notice("Successfully synthesized to cdk.out\n") is None

{#- The per-subject intermediate and marts models are incremental by site, like staging
    (macros/staging/staged_by_site.sql). Every row of them belongs to one site's subjects, and a
    site's rows depend only on that site's staged transfer. The orchestrator writes the sites it
    rebuilds (those with a transfer the last publication was not built from) into
    ops.rebuilt_sites before each dbt step. An incremental build deletes those sites' rows
    (pre-hook) and inserts them again from their site's inputs; every other site's rows stay as
    they are. A full build (first build, new code, --rebuild: the orchestrator passes
    --full-refresh) builds every site. A dbt build by hand without --full-refresh rebuilds the
    sites of ops.rebuilt_sites as the last refresh wrote them.

    The other models stay tables built whole: the summaries (made of every site's rows) and a few
    small ones. -#}

{#- The table the orchestrator writes (not a dbt node: it exists before dbt runs). -#}
{% macro rebuilt_sites_table() -%}
    ops.rebuilt_sites
{%- endmacro %}

{#- Configures the calling model as incremental by site. `site_column`: SITEID, or USUBJID for a
    model without SITEID (the site is the USUBJID's second part). -#}
{% macro incremental_by_site(site_column='SITEID') -%}
    {{ config(
        materialized='incremental',
        pre_hook="{{ remove_rebuilt_sites('" ~ site_column ~ "') }}",
        meta={'rebuilt_by_site': site_column}
    ) }}
{%- endmacro %}

{#- A row's site, from its SITEID or its USUBJID (NCT04325594-<SITEID>-<SUBJID>; no hyphen in a SITEID). -#}
{% macro site_of(column='SITEID') -%}
    {%- if column.split('.')[-1] == 'USUBJID' -%}split_part({{ column }}, '-', 2){%- else -%}{{ column }}{%- endif -%}
{%- endmacro %}

{#- The row (its site column `column`) is of a site this build rebuilds; always true in a full build. -#}
{% macro in_rebuilt_sites(column='SITEID') -%}
    {%- if is_incremental() -%}
    {{ site_of(column) }} in (select SITEID from {{ rebuilt_sites_table() }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a site-incremental model: remove the rows of the sites this build rebuilds. -#}
{% macro remove_rebuilt_sites(column='SITEID') -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ in_rebuilt_sites(column) }}
    {%- endif -%}
{%- endmacro %}

{#- In an incremental `dbt build` (the refresh's), the row-level tests of a site-incremental model
    check the rows of the rebuilt sites (and any row without a site): every other row passed them
    when its site was built, and is unchanged. A full build and `dbt test` check every row. Tests
    that compare a model with others (a grid, a summary) always see the whole model. -#}
{% macro get_where_subquery(relation) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model is mapping and model.get('attached_node') else none -%}
    {%- set site_column = (tested.config.meta or {}).get('rebuilt_by_site') if tested else none -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') -%}
    {%- if site_column and flags.WHICH == 'build' and not flags.FULL_REFRESH and test_name in ['not_null', 'unique', 'accepted_values', 'relationships', 'expression_is_true', 'unique_combination'] -%}
        {%- set where = config.get('where', '') -%}
        {%- set scoped = 'coalesce(' ~ site_of(site_column) ~ ' in (select SITEID from ' ~ rebuilt_sites_table() ~ '), true)' -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ scoped ~ (' and (' ~ where ~ ')' if where else '') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}

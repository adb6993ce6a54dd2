{#- Staging models are incremental by site. A full build (first build, new code, --rebuild: the
    orchestrator passes --full-refresh) stages every site's latest transfer. An incremental build
    restages only the sites whose latest transfer is not the one already staged: the pre-hook
    deletes their rows, then the model appends their latest transfer. So a new transfer at one site
    costs that site's rows, not every site's. A site whose file is empty in its latest transfer has
    no row saying which transfer was staged: it is staged again each build, at no cost. -#}

{#- The latest transfers to stage in this build (all of them unless incremental). -#}
{% macro transfers_to_stage() -%}
    {%- if is_incremental() -%}
    (
        select latest.*
        from {{ ref('stg_edc__latest_transfers') }} as latest
        where not exists (
            select 1 from {{ this }} as staged
            where staged.SITEID = latest.SITEID and staged.EXTRACT_ID = latest.EXTRACT_ID
        )
    )
    {%- else -%}
    {{ ref('stg_edc__latest_transfers') }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: remove the staged rows of the sites this build restages. -#}
{% macro unstage_restaged_sites() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where SITEID in (select restaged.SITEID from {{ transfers_to_stage() }} as restaged)
    {%- endif -%}
{%- endmacro %}

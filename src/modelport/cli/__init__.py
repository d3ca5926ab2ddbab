"""modelport.cli"""

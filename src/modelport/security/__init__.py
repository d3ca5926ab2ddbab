"""modelport.security"""
